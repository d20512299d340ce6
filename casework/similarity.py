"""Common problems (共性问题): when a new report resembles open cases of the same topic and place.

Two reports are of one problem when they name the same place (character bigrams of the place
overlap) and their texts, the place taken out, share what is wrong (路灯, 井盖, 噪音). Character
bigrams rather than words, because word segmentation splits unseen place names badly.
"""

from __future__ import annotations

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
_NOISE = re.compile(r"[\s\W_0-9]+")


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


def _problem(sketch: Sketch) -> set[str]:
    """Bigrams of the description that are neither the place nor glue."""
    return {
        b
        for b in _bigrams(sketch.description) - _bigrams(sketch.place)
        if b not in _STOP_BIGRAMS and not (set(b) & GLUE)
    }


def _overlap(a: set[str], b: set[str]) -> float:
    """Overlap coefficient: a short report inside a long one still counts as similar."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def similarity(a: Sketch, b: Sketch) -> float:
    """0..1; 0 when the topics differ or the texts share no word about the problem."""
    if a.topic != b.topic:
        return 0.0
    problem_a, problem_b = _problem(a), _problem(b)
    if not problem_a & problem_b:
        return 0.0
    place = _overlap(_bigrams(a.place or a.description), _bigrams(b.place or b.description))
    return 0.6 * place + 0.4 * _overlap(problem_a, problem_b)


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
