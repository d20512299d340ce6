"""Several problems in one message (nlu/problems.py): clauses, and the problems of several topics."""

from __future__ import annotations

import pytest

from nlu.problems import MIN_CONFIDENCE, Problem, clauses, several_problems
from nlu.topics import TopicClassifier

# A router double: the topic of a clause is that of the first keyword it holds, confidently.
KEYWORDS = {"路灯": "城乡建设", "公交": "交通运输", "学校": "教育文体", "油烟": "环境保护"}


def keyword_router(text: str) -> tuple[str, float]:
    return next(((topic, 0.9) for word, topic in KEYWORDS.items() if word in text), ("其他", 0.2))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("路灯坏了。公交站没了；学校收费高", ["路灯坏了", "公交站没了", "学校收费高"]),
        ("1、路灯坏了 2、公交站没了", ["1、路灯坏了", "2、公交站没了"]),
        ("一是路灯坏了，二是公交站没了", ["一是路灯坏了", "二是公交站没了"]),
        ("路灯坏了，另外公交站没了，还有学校收费高", ["路灯坏了", "另外公交站没了", "还有学校收费高"]),
        ("（1）路灯坏了（2）公交站没了", ["（1）路灯坏了", "（2）公交站没了"]),
        ("路灯坏了\n\n公交站没了！！", ["路灯坏了", "公交站没了"]),
        ("幸福路3号的路灯坏了，晚上很黑", ["幸福路3号的路灯坏了，晚上很黑"]),
        ("", []),
    ],
)
def test_a_text_is_cut_at_sentence_ends_and_enumerations(text, expected):
    assert clauses(text) == expected


def test_problems_of_several_topics_are_found_in_order():
    found = several_problems("小区门口的路灯坏了很久。另外12路公交改线了很不方便。还有学校门口乱停车", keyword_router)
    assert [p.topic for p in found] == ["城乡建设", "交通运输", "教育文体"]
    assert found[1] == Problem("另外12路公交改线了很不方便", "交通运输", 0.9)


def test_a_detail_the_router_is_unsure_of_stays_with_the_problem_before_it():
    found = several_problems("路灯坏了好多天了。已经十几天了，没人管。公交站也没了", keyword_router)
    assert [p.text for p in found] == ["路灯坏了好多天了，已经十几天了，没人管", "公交站也没了"]


def test_the_parts_of_one_topic_make_one_problem():
    found = several_problems("路灯坏了好多天。公交站没了很久。东边的路灯也不亮", keyword_router)
    assert [(p.topic, p.text) for p in found] == [
        ("城乡建设", "路灯坏了好多天；东边的路灯也不亮"),
        ("交通运输", "公交站没了很久"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "幸福路3号的路灯坏了，晚上很黑，老人走路容易摔倒",  # one clause
        "路灯坏了好几天了。路灯杆也歪了，很危险",  # one topic
        "路灯坏了。你好",  # the other part too short to stand alone
    ],
)
def test_one_problem_is_not_several(text):
    assert several_problems(text, keyword_router) == ()


def test_an_unsure_topic_is_not_a_problem_of_its_own():
    def unsure(text: str) -> tuple[str, float]:
        topic, _ = keyword_router(text)
        return topic, MIN_CONFIDENCE - 0.01 if topic == "交通运输" else 0.9

    assert several_problems("路灯坏了好多天。公交站没了很久", unsure) == ()


def test_the_project_router_finds_three_problems_for_three_departments():
    """With the real router trained on our own examples (no text of ../shared/data)."""
    router = TopicClassifier.from_project()
    found = several_problems(
        "东风路口的红绿灯坏了两天，车辆乱成一团。另外，东风小学门口的培训班收费太贵了。还有菜市场旁边的小饭馆油烟太大",
        router.classify,
    )
    assert [p.topic for p in found] == ["交通运输", "教育文体", "环境保护"]
    one = "幸福路上的路灯坏了好几盏，晚上一片漆黑。走路很不安全，老人都不敢出门"
    assert several_problems(one, router.classify) == ()
