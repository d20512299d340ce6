"""Picking from a list the bot offered, as people say it: "2", "第一个", "最后一个", "周四那个", "两点半的",
"路灯那个", or the item's own words.

Pure: the options and today's date come in, an index (0-based) or None goes out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from casework.dates import chinese_number, parse_when
from casework.deadlines import LOCAL

NUMBER = re.compile(
    r"^\s*(?:选|要|就|约)?\s*(?:第\s*)?([0-9]{1,2}|[一二三四五六七八九十]{1,2})\s*(?:个|号|项|条|件|场)?\s*(?:吧|吧。|。|\.|、)?\s*$"
)
LAST = re.compile(r"^(?:就|选|要)?最后(?:一个|那个|一项|一条|一场)(?:吧)?[。！!\s]*$")
# "周四那个", "下午两点半的", "路灯的那个吧", "就约26号那场"
REFERENCE = re.compile(
    r"^(?:就|选|要|约)?(.{1,16}?)(?:的)?(?:那个|那一个|那场|那次|那条|那件|那项|这个|的)(?:吧|吧。|。|！)?$"
)


@dataclass(frozen=True)
class Option:
    """One item of a list: its label as shown, its time when it is a slot, other words that name it."""

    label: str
    starts_at: dt.datetime | None = None
    words: str = ""


def pick(text: str, options: Sequence[Option], today: dt.date) -> int | None:
    """The index of the option the citizen picked; None when the text picks none (or is not a pick)."""
    text = text.strip()
    if not options:
        return None
    if match := NUMBER.match(text):
        number = chinese_number(match.group(1))
        return number - 1 if number is not None and 1 <= number <= len(options) else None
    if LAST.match(text):
        return len(options) - 1
    match = REFERENCE.match(text)
    if match is None:
        return None
    return _by_reference(match.group(1).strip(), options, today)


def _by_reference(reference: str, options: Sequence[Option], today: dt.date) -> int | None:
    asked = parse_when(reference, today)
    if asked:
        timed = [
            (asked.distance(o.starts_at.astimezone(LOCAL)), i)
            for i, o in enumerate(options)
            if o.starts_at is not None and asked.admits(o.starts_at.astimezone(LOCAL))
        ]
        if timed:
            return min(timed)[1]
    named = [i for i, o in enumerate(options) if reference and (reference in o.label or reference in o.words)]
    return named[0] if len(named) == 1 else None
