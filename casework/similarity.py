"""Common problems (共性问题): when a new report resembles open cases of the same topic and place.

Two reports are of one problem when they name the same place (character bigrams of the place
overlap) and their texts, the place taken out, share what is wrong (路灯, 井盖, 噪音). Character
bigrams rather than words, because word segmentation splits unseen place names badly. Words every
place has (小区, 花园) say nothing about which place it is, and numbers do: two reports that give
different numbers of the same kind (3栋 and 5栋, 56号 and 58号) are about different places, however
alike the rest, so a citizen is never offered a stranger's case from another building.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Similar enough to tell the staff and offer the citizen the existing case.
THRESHOLD = 0.5
# Words that say nothing about which problem it is, and characters that only glue words together.
STOPWORDS = (
    "我们 你们 他们 一个 这个 那个 问题 反映 希望 请问 已经 现在 时候 晚上 白天 每天 几天 一直 还是 没有 "
    "不是 小区 附近 门口 楼下 我家 麻烦 谢谢 尽快 处理 解决 相关 部门 有关 一下 好多"
).split()
GLUE = set("的了是在我你他她很有也都就还吗呢吧啊和与及")
# Words that end many place names: a shared one is no sign of the same place.
PLACE_WORDS = "小区 社区 花园 家园 新村 街道 公园 广场 大厦 公寓 路口 门口 附近 对面 楼下".split()
_NOISE = re.compile(r"[\s\W_0-9０-９]+")
# A numbered part of an address and its kind: 3栋, 5号楼 and 5幢 are buildings, 2单元 a unit, 12弄 a
# lane; 56号 a house number when a road or a compound comes before it (not 5号, a day of the month).
_NUMERAL = r"[0-9０-９]+|[一二三四五六七八九十百零〇两]+"
NUMBERED = re.compile(
    rf"(?:(?<=[路街巷道里村院区弄园苑湾])(?P<house>{_NUMERAL})号(?![楼线]))"
    rf"|(?:(?P<number>{_NUMERAL})\s*(?P<kind>号楼|栋|幢|单元|弄))"
)
_KINDS = {"号楼": "building", "栋": "building", "幢": "building", "单元": "unit", "弄": "lane"}
_DIGITS = {ch: i for i, ch in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}


@dataclass(frozen=True)
class Sketch:
    """What similarity looks at in a case or a draft report."""

    number: str
    topic: str
    place: str
    description: str


def _bigrams(text: str) -> set[str]:
    cleaned = _NOISE.sub("", text)
    return {cleaned[i : i + 2] for i in range(len(cleaned) - 1)}


_STOP_BIGRAMS = {w[i : i + 2] for w in STOPWORDS for i in range(len(w) - 1)}
_PLACE_BIGRAMS = {w[i : i + 2] for w in PLACE_WORDS for i in range(len(w) - 1)}


def _number(numeral: str) -> int:
    """'12', '１２' or '十二' as 12 (Chinese numerals up to the hundreds, as addresses write them)."""
    if numeral.isdigit():
        return int(numeral)
    total, digit = 0, 0
    for ch in numeral:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        else:
            total += (digit or 1) * (100 if ch == "百" else 10)
            digit = 0
    return total + digit


def address_numbers(text: str) -> dict[str, set[int]]:
    """The building, unit, lane and house numbers written in `text`, by kind."""
    found: dict[str, set[int]] = {}
    for m in NUMBERED.finditer(text):
        kind, numeral = ("house", m["house"]) if m["house"] else (_KINDS[m["kind"]], m["number"])
        found.setdefault(kind, set()).add(_number(numeral))
    return found


@dataclass(frozen=True)
class Features:
    """What similarity compares of a sketch: the numbers of its address, the bigrams of what is wrong and
    the bigrams of its place."""

    numbers: dict[str, set[int]]
    problem: frozenset[str]
    place: frozenset[str]


# A report is compared with up to hundreds of open cases, twice while it is written: the open cases' features
# are worked out once, not on every comparison (a report's summary and its registration each scanned them all).
FEATURES_KEPT = 4096


@functools.lru_cache(maxsize=FEATURES_KEPT)
def features(place: str, description: str) -> Features:
    place_grams = _bigrams(place)
    problem = {b for b in _bigrams(description) - place_grams if b not in _STOP_BIGRAMS and not (set(b) & GLUE)}
    return Features(
        numbers=address_numbers(f"{place} {description}"),
        problem=frozenset(problem),
        place=frozenset(_bigrams(place or description) - _PLACE_BIGRAMS),
    )


def different_places(a: Features, b: Features) -> bool:
    """Whether the two give different numbers of the same kind (3栋 and 5栋): then they are about
    different places. The same numbers, or numbers of kinds only one of them gives, are no sign."""
    return any(not a.numbers[kind] & b.numbers[kind] for kind in a.numbers.keys() & b.numbers.keys())


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Overlap coefficient: a short report inside a long one still counts as similar."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def similarity(a: Sketch, b: Sketch) -> float:
    """0..1; 0 when the topics differ, the numbers say different places, or the texts share no word
    about the problem."""
    if a.topic != b.topic:
        return 0.0
    features_a, features_b = features(a.place, a.description), features(b.place, b.description)
    if different_places(features_a, features_b) or not features_a.problem & features_b.problem:
        return 0.0
    place = _overlap(features_a.place, features_b.place)
    return 0.6 * place + 0.4 * _overlap(features_a.problem, features_b.problem)


def similar_cases(draft: Sketch, open_cases: Iterable[Sketch], limit: int = 3) -> list[tuple[Sketch, float]]:
    """The most similar open cases above the threshold, best first."""
    scored = [(case, similarity(draft, case)) for case in open_cases if case.number != draft.number]
    return sorted([s for s in scored if s[1] >= THRESHOLD], key=lambda s: -s[1])[:limit]


def groups(links: Iterable[tuple[str, str]]) -> list[set[str]]:
    """Connected groups of linked case numbers, largest first."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        parent[root(a)] = root(b)
    members: dict[str, set[str]] = {}
    for x in list(parent):
        members.setdefault(root(x), set()).add(x)
    return sorted(members.values(), key=lambda g: (-len(g), min(g)))
