"""Dates and times in Chinese, read against a fixed today: Tuesday 24 November 2026."""

import datetime as dt

import pytest

from casework.dates import When, chinese_number, parse_when

TODAY = dt.date(2026, 11, 24)  # a Tuesday
D = dt.date
T = dt.time


def day(d, part=None, at=None):
    return When(first=d, last=d, part=part, at=at)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("明天", day(D(2026, 11, 25))),
        ("后天下午", day(D(2026, 11, 26), "下午")),
        ("大后天", day(D(2026, 11, 27))),
        ("今天下午3点", day(D(2026, 11, 24), "下午", T(15, 0))),
        ("明早", day(D(2026, 11, 25), "上午")),
        ("明天早上8点", day(D(2026, 11, 25), "上午", T(8, 0))),
        ("今晚", day(D(2026, 11, 24), "晚上")),
        ("周四下午", day(D(2026, 11, 26), "下午")),
        ("这周四下午有代表吗", day(D(2026, 11, 26), "下午")),
        ("我想约星期四", day(D(2026, 11, 26))),
        ("礼拜六下午", day(D(2026, 11, 28), "下午")),
        ("周日", day(D(2026, 11, 29))),
        ("周二上午9点半", day(D(2026, 11, 24), "上午", T(9, 30))),  # a bare weekday: today counts
        ("下周二", day(D(2026, 12, 1))),
        ("下周六上午", day(D(2026, 12, 5), "上午")),
        ("下个星期三", day(D(2026, 12, 2))),
        ("下下周三", day(D(2026, 12, 9))),
        ("上周四", day(D(2026, 11, 19))),
        ("11月26日", day(D(2026, 11, 26))),
        ("12月3号上午10点", day(D(2026, 12, 3), "上午", T(10, 0))),
        ("十二月三日", day(D(2026, 12, 3))),
        ("1月5日", day(D(2027, 1, 5))),  # already past this year, and near next year: next year's
        ("幸福路18号", When()),  # a house number, not the 18th
        ("2026年12月1日", day(D(2026, 12, 1))),
        ("2026-12-01 14:30", day(D(2026, 12, 1), "下午", T(14, 30))),
        ("12/3", day(D(2026, 12, 3))),
        ("26号", day(D(2026, 11, 26))),
        ("3号", day(D(2026, 12, 3))),  # already past this month: next month's
        ("二十六号上午", day(D(2026, 11, 26), "上午")),
        ("我住3号楼，想约周四", day(D(2026, 11, 26))),
        ("这周末", When(D(2026, 11, 28), D(2026, 11, 29))),
        ("下周", When(D(2026, 11, 30), D(2026, 12, 6))),
        ("本周", When(D(2026, 11, 24), D(2026, 11, 29))),
        ("下个月", When(D(2026, 12, 1), D(2026, 12, 31))),
        ("下午两点半", When(part="下午", at=T(14, 30))),
        ("14:30", When(part="下午", at=T(14, 30))),
        ("３点", When(part="下午", at=T(15, 0))),  # full-width; 1 to 6 without a part: the afternoon
        ("十点一刻", When(part="上午", at=T(10, 15))),
        ("上午", When(part="上午")),
        ("我想预约见代表", When()),
        ("能不能快一点", When()),
    ],
)
def test_chinese_dates_and_times(text, expected):
    assert parse_when(text, TODAY) == expected


def test_when_admits_slots_and_ranks_them_by_the_time_asked():
    asked = parse_when("周四下午3点", TODAY)
    thursday = dt.datetime(2026, 11, 26)
    assert asked.admits(thursday.replace(hour=14, minute=30)) and asked.admits(thursday.replace(hour=16))
    assert not asked.admits(thursday.replace(hour=9)) and not asked.admits(dt.datetime(2026, 11, 24, 15))
    assert asked.distance(thursday.replace(hour=15)) == 0 < asked.distance(thursday.replace(hour=14, minute=30))
    assert not When() and When().admits(thursday)
    assert parse_when("上周四", TODAY).is_past(TODAY) and not parse_when("周四", TODAY).is_past(TODAY)


def test_chinese_numbers():
    words = ("12", "二十六", "十一", "十", "两", "三十一", "零")
    assert [chinese_number(w) for w in words] == [12, 26, 11, 10, 2, 31, 0]
    assert chinese_number("明") is None


def test_a_past_month_day_without_a_year_is_not_silently_next_year():
    """Issue 12: "11月20日" said on 24 November became 20 November 2027; the caller now asks instead."""
    passed = parse_when("11月20日有代表吗", TODAY)
    assert passed == When(D(2026, 11, 20), D(2026, 11, 20), year_unsaid=True) and passed.is_past(TODAY)
    assert parse_when("5月1日", TODAY).year_unsaid and parse_when("11/20", TODAY).year_unsaid
    assert not parse_when("2026年11月20日", TODAY).year_unsaid  # the year said: just past
    assert not parse_when("1月5日", TODAY).year_unsaid and not parse_when("3号", TODAY).year_unsaid
