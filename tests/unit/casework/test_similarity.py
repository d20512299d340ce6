"""Similar cases (共性问题): the same problem at the same place, and never two buildings or houses apart."""

from __future__ import annotations

import pytest

from casework.similarity import THRESHOLD, Sketch, address_numbers, similar_cases, similarity


def report(number: str, place: str, description: str, topic: str = "城乡建设") -> Sketch:
    return Sketch(number, topic, place, description)


def test_the_same_problem_at_the_same_place_is_similar():
    a = report("a", "人民公园北门", "公园北门外的下水道井盖丢了，晚上有人差点掉进去")
    b = report("b", "人民公园北门外", "人民公园北门那里井盖没了，很危险，请尽快补上")
    assert similarity(a, b) >= THRESHOLD


@pytest.mark.parametrize(
    ("place_a", "place_b"),
    [
        ("阳光小区3栋", "幸福里小区5栋"),  # found from outside: the digits were dropped
        ("阳光小区3栋", "阳光小区5栋"),
        ("阳光小区3号楼", "阳光小区5幢"),
        ("阳光小区3栋2单元", "阳光小区3栋4单元"),
        ("望江路56号", "望江路58号"),
        ("和平里12弄", "和平里14弄"),
        ("阳光小区三栋", "阳光小区五栋"),
    ],
)
def test_different_numbers_of_the_same_kind_are_different_places(place_a, place_b):
    a = report("a", place_a, f"{place_a}楼下的路灯坏了，晚上很黑")
    b = report("b", place_b, f"{place_b}楼下的路灯坏了，晚上很黑")
    assert similarity(a, b) == 0.0
    assert similar_cases(a, [b]) == []


@pytest.mark.parametrize(
    ("place_a", "place_b"),
    [
        ("阳光小区3栋", "阳光小区3栋"),
        ("阳光小区3栋", "阳光小区三栋"),
        ("阳光小区3号楼", "阳光小区3栋"),
        ("望江路56号", "望江路56号门口"),
        ("阳光小区3栋", "阳光小区"),  # a number only one of them gives is no sign either way
    ],
)
def test_the_same_numbers_still_match(place_a, place_b):
    a = report("a", place_a, f"{place_a}楼下的路灯坏了，晚上很黑")
    b = report("b", place_b, f"{place_b}门口路灯不亮了，好几天了")
    assert similarity(a, b) >= THRESHOLD


def test_a_word_every_place_has_is_no_sign_of_the_same_place():
    a = report("a", "阳光小区", "阳光小区的路灯坏了，晚上很黑")
    b = report("b", "幸福里小区", "幸福里小区的路灯坏了，晚上很黑")
    assert similarity(a, b) < THRESHOLD


def test_numbers_in_the_text_count_and_a_day_of_the_month_does_not():
    a = report("a", "阳光小区", "阳光小区3栋门口的路灯坏了")
    b = report("b", "阳光小区", "阳光小区5栋门口的路灯坏了")
    assert similarity(a, b) == 0.0
    c = report("c", "望江路", "望江路的路灯坏了，11月5号就坏了")
    d = report("d", "望江路", "望江路的路灯坏了，3号晚上开始不亮")
    assert similarity(c, d) >= THRESHOLD
    assert address_numbers("十二栋、23号楼、一百零五弄、2单元、１２幢、5号线、11月5号、幸福路18号院") == {
        "building": {12, 23},
        "lane": {105},
        "unit": {2},
        "house": {18},
    }
