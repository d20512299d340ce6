"""Dates and times as citizens write them in Chinese when they ask for a reception slot.

    parse_when("这周四下午有代表吗", today=Tue 24 Nov 2026)  ->  When(Thu 26 Nov, Thu 26 Nov, part="下午")
    parse_when("下周六上午")                                 ->  When(Sat 5 Dec, Sat 5 Dec, part="上午")
    parse_when("12月3号上午10点")                            ->  When(Thu 3 Dec, ..., part="上午", at=10:00)
    parse_when("下周")                                       ->  When(Mon 30 Nov, Sun 6 Dec)

Understood: 今天/明天/后天/大后天 (and 今早, 明晚…); 周X, 星期X, 礼拜X with 这/本/下/下下/上; 周末;
这周/下周 as a whole week; 本月/下个月; X月Y日/号, Y号, 2026年12月1日, 12-1, 12/1; parts of the
day (上午, 中午, 下午, 晚上, with 早上, 傍晚…); times (3点, 两点半, 十点一刻, 9点30分, 14:30).
Numbers may be Arabic, full-width or Chinese (二十六, 两). A bare weekday is the nearest one from today
on (today included); a day of the month already past is next month's; a month-day already past is
next year's when that is near (in December, 1月5日), otherwise it stays this year's, in the past, and is
flagged `year_unsaid`: the caller asks which day was meant rather than silently reading next year. An
hour without a part of the day from 1 to 6 is taken as the afternoon (no station receives at 3 in the
morning).

Pure: no I/O and no clock; the caller passes today's date (Beijing time).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# The part of the day -> [from, to) in local time.
PARTS: dict[str, tuple[dt.time, dt.time]] = {
    "上午": (dt.time(0, 0), dt.time(12, 0)),
    "中午": (dt.time(11, 0), dt.time(14, 0)),
    "下午": (dt.time(12, 0), dt.time(18, 0)),
    "晚上": (dt.time(17, 0), dt.time(23, 59, 59)),
}
_PART_WORDS = (
    ("上午", "上午"),
    ("早上", "上午"),
    ("早晨", "上午"),
    ("清早", "上午"),
    ("一早", "上午"),
    ("今早", "上午"),
    ("明早", "上午"),
    ("中午", "中午"),
    ("午间", "中午"),
    ("下午", "下午"),
    ("午后", "下午"),
    ("傍晚", "晚上"),
    ("晚上", "晚上"),
    ("晚间", "晚上"),
    ("夜里", "晚上"),
    ("今晚", "晚上"),
    ("明晚", "晚上"),
)
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_WEEKDAYS = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "5": 4,
    "6": 5,
    "7": 6,
}
# A month-day already past this year is read as next year's only if that is at most this far ahead.
NEXT_YEAR_WITHIN_DAYS = 120
_WEEK_OFFSETS = {"上": -1, "这": 0, "本": 0, "这个": 0, "下": 1, "下个": 1, "下下": 2, "下下个": 2}

NUM = r"(?:\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"
_FULL_DATE = re.compile(rf"(\d{{4}})\s*[年\-/.]\s*({NUM})\s*[月\-/.]\s*({NUM})\s*[日号]?")
_MONTH_DAY = re.compile(rf"({NUM})\s*月\s*({NUM})\s*[日号]?")
_NUMERIC_MONTH_DAY = re.compile(r"(?<![\d:：])(\d{1,2})[/\-](\d{1,2})(?![\d:：点时])")
_RELATIVE_DAY = re.compile(r"大后天|后天|明天|明日|明儿|明早|明晚|今天|今日|今儿|今早|今晚")
_RELATIVE_OFFSETS = {"大后天": 3, "后天": 2, "明天": 1, "明日": 1, "明儿": 1, "明早": 1, "明晚": 1}
_WEEKDAY = re.compile(r"(下下个|下下|下个|下|这个|这|本|上)?\s*周([一二三四五六日天1-7])")
_WEEKEND = re.compile(r"(下下个|下下|下个|下|这个|这|本)?\s*周末")
_WHOLE_WEEK = re.compile(r"(下下个|下下|下个|下|这个|这|本)\s*周(?![一二三四五六日天1-7末])")
_MONTH = re.compile(r"(下个月|下月|这个月|本月)")
# Not a house number: 幸福路18号, 3号楼.
_DAY_OF_MONTH = re.compile(rf"(?<![月\d零〇一二两三四五六七八九十路街巷道弄村])({NUM})\s*[日号](?![楼院室栋门线])")
_CLOCK = re.compile(r"(?<!\d)([01]?\d|2[0-3])\s*[:：]\s*([0-5]\d)(?!\d)")
_HOUR = re.compile(rf"(?<![快早晚多少有差])({NUM})\s*(?:点钟|点|时)(?![点儿前])(?:\s*(半|一刻|三刻|({NUM})\s*分?))?")


@dataclass(frozen=True)
class When:
    """What a citizen asked for: a range of days (inclusive), a part of the day, a time; any may be missing."""

    first: dt.date | None = None
    last: dt.date | None = None
    part: str | None = None
    at: dt.time | None = None
    # A month and day without a year that has passed this year and is far off next year ("11月20日" said on
    # 23 November): kept in the past, for the caller to ask.
    year_unsaid: bool = False

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.first, self.part, self.at))

    @property
    def one_day(self) -> bool:
        return self.first is not None and self.first == self.last

    def is_past(self, today: dt.date) -> bool:
        """Every day asked for is before today."""
        return self.last is not None and self.last < today

    def admits(self, moment: dt.datetime) -> bool:
        """Whether a slot starting at `moment` (local, naive or aware) answers the question.

        With a time, any slot in the same part of the day admits (the nearest ranks first, see `distance`).
        """
        if self.first is not None and self.last is not None and not self.first <= moment.date() <= self.last:
            return False
        if self.part is not None:
            start, end = PARTS[self.part]
            return start <= moment.time().replace(tzinfo=None) < end
        return True

    def distance(self, moment: dt.datetime) -> float:
        """Minutes between the time asked for and `moment` (local), for ranking; 0 without a time."""
        if self.at is None:
            return 0.0
        asked = dt.datetime.combine(moment.date(), self.at)
        return abs((moment.replace(tzinfo=None) - asked).total_seconds()) / 60


def parse_when(text: str, today: dt.date) -> When:
    """The days, part of the day and time written in `text`, relative to `today` (Beijing time)."""
    text = _normalise(text)
    days, text, unsaid = _days(text, today)
    at, text = _time(text)
    part = next((label for word, label in _PART_WORDS if word in text), None)
    if at is not None:
        at, part = _settle_hour(at, part)
    first, last = days if days else (None, None)
    return When(first=first, last=last, part=part, at=at, year_unsaid=unsaid)


def chinese_number(word: str) -> int | None:
    """12, ５, 二十六, 十一, 两 -> int; None when it is not a number."""
    word = word.strip()
    if word.isdigit():
        return int(word)
    if not word or any(c not in _DIGITS and c != "十" for c in word):
        return None
    if "十" not in word:
        value = 0
        for c in word:
            value = value * 10 + _DIGITS[c]
        return value
    tens, _, ones = word.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)


def _normalise(text: str) -> str:
    text = text.translate({ord(f): ord(a) for f, a in zip("０１２３４５６７８９：", "0123456789:", strict=True)})
    text = text.replace("星期", "周").replace("礼拜", "周").replace("號", "号").replace("週", "周")
    return text


def _days(text: str, today: dt.date) -> tuple[tuple[dt.date, dt.date] | None, str, bool]:
    """The first date expression found, as (first, last), the text without it, and whether it is a month-day
    without a year left in the past (see `_month_day`)."""
    for finder in (_full_date, _month_day, _relative_day, _weekend, _weekday, _whole_week, _month, _day_of_month):
        found = finder(text, today)
        if found is not None:
            (first, last), (start, end) = found
            return (first, last), text[:start] + " " + text[end:], finder is _month_day and first < today
    return None, text, False


Found = tuple[tuple[dt.date, dt.date], tuple[int, int]] | None


def _full_date(text: str, today: dt.date) -> Found:
    for match in _FULL_DATE.finditer(text):
        day = _date(int(match.group(1)), chinese_number(match.group(2)), chinese_number(match.group(3)))
        if day is not None:
            return (day, day), match.span()
    return None


def _month_day(text: str, today: dt.date) -> Found:
    for pattern in (_MONTH_DAY, _NUMERIC_MONTH_DAY):
        for match in pattern.finditer(text):
            month, day_of_month = chinese_number(match.group(1)), chinese_number(match.group(2))
            day = _date(today.year, month, day_of_month)
            if day is not None and day < today:
                later = _date(today.year + 1, month, day_of_month)
                # Next year's only when near (1月5日 said in December); else left in the past, for the caller to ask.
                if later is not None and (later - today).days <= NEXT_YEAR_WITHIN_DAYS:
                    day = later
            if day is not None:
                return (day, day), match.span()
    return None


def _relative_day(text: str, today: dt.date) -> Found:
    match = _RELATIVE_DAY.search(text)
    if match is None:
        return None
    day = today + dt.timedelta(days=_RELATIVE_OFFSETS.get(match.group(0), 0))
    # 今早/明晚… also name the part of the day: keep the word for the parts.
    end = match.end() if match.group(0) not in ("明早", "明晚", "今早", "今晚") else match.start()
    return (day, day), (match.start(), end)


def _monday(today: dt.date, offset: int) -> dt.date:
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=offset)


def _weekday(text: str, today: dt.date) -> Found:
    match = _WEEKDAY.search(text)
    if match is None:
        return None
    weekday = _WEEKDAYS[match.group(2)]
    if match.group(1) is None:
        day = today + dt.timedelta(days=(weekday - today.weekday()) % 7)
    else:
        day = _monday(today, _WEEK_OFFSETS[match.group(1)]) + dt.timedelta(days=weekday)
    return (day, day), match.span()


def _weekend(text: str, today: dt.date) -> Found:
    match = _WEEKEND.search(text)
    if match is None:
        return None
    offset = _WEEK_OFFSETS[match.group(1)] if match.group(1) else 0
    saturday = _monday(today, offset) + dt.timedelta(days=5)
    if match.group(1) is None and today.weekday() == 6:
        saturday = today - dt.timedelta(days=1)
    return (max(saturday, today) if offset == 0 else saturday, saturday + dt.timedelta(days=1)), match.span()


def _whole_week(text: str, today: dt.date) -> Found:
    match = _WHOLE_WEEK.search(text)
    if match is None:
        return None
    offset = _WEEK_OFFSETS[match.group(1)]
    monday = _monday(today, offset)
    return (max(monday, today) if offset == 0 else monday, monday + dt.timedelta(days=6)), match.span()


def _month(text: str, today: dt.date) -> Found:
    match = _MONTH.search(text)
    if match is None:
        return None
    first = today.replace(day=1)
    if match.group(1).startswith("下"):
        first = (first + dt.timedelta(days=32)).replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return (max(first, today), last), match.span()


def _day_of_month(text: str, today: dt.date) -> Found:
    for match in _DAY_OF_MONTH.finditer(text):
        number = chinese_number(match.group(1))
        day = _date(today.year, today.month, number)
        if day is not None and day < today:
            following = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            day = _date(following.year, following.month, number)
        if day is not None:
            return (day, day), match.span()
    return None


def _date(year: int, month: int | None, day: int | None) -> dt.date | None:
    if month is None or day is None:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _time(text: str) -> tuple[dt.time | None, str]:
    match = _CLOCK.search(text)
    if match is not None:
        return dt.time(int(match.group(1)), int(match.group(2))), text[: match.start()] + " " + text[match.end() :]
    match = _HOUR.search(text)
    if match is None:
        return None, text
    hour_word, extra, minutes_word = match.groups()
    hour = chinese_number(hour_word)
    minute = {"半": 30, "一刻": 15, "三刻": 45}.get(extra or "", None)
    if minute is None:
        minute = chinese_number(minutes_word) if minutes_word else 0
    if hour is None or hour > 24 or minute is None or minute > 59:
        return None, text
    return dt.time(hour % 24, minute), text[: match.start()] + " " + text[match.end() :]


def _settle_hour(at: dt.time, part: str | None) -> tuple[dt.time, str]:
    """下午3点 -> 15:00; 3点 -> 15:00 (afternoon assumed from 1 to 6); 9点 -> 09:00; and the part it is in."""
    hour = at.hour
    if part in ("下午", "晚上") and hour < 12:
        hour += 12
    elif part == "中午" and 1 <= hour <= 3:
        hour += 12
    elif part is None and 1 <= hour <= 6:
        hour += 12
    settled = at.replace(hour=hour)
    if part is None or not PARTS[part][0] <= settled < PARTS[part][1]:
        part = "上午" if hour < 12 else "下午" if hour < 18 else "晚上"
    return settled, part
