"""Several problems in one message: a letter that asks about a street lamp, a bus stop and a school's fees
is three problems for three departments, and one case for one of them serves none of the others.

The text is cut into clauses at sentence ends, semicolons, line breaks and the usual enumerations (1、 2.
（一） 一是 二是 另外 还有 此外); each clause long enough to stand alone is given its topic by the topic
router, adjacent clauses of one topic are joined again, and a clause the router is unsure of stays with the
one before it (it is usually its detail: 已经好几天了), and the parts of one topic make one problem. A message
holds several problems when it has parts of at least two topics, each confidently (the router's calibrated
probability).

Plain text in, plain data out: the caller passes the router's `classify`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from nlu.topics import OTHER

# Where one clause ends and the next begins: the punctuation that ends a sentence or a list item, and the
# words and numbering that start another item.
_BREAK = re.compile(r"[。！？!?；;\n]+")
_ITEM = re.compile(
    r"(?<!^)(?=[（(][0-9一二三四五六七八九十]{1,2}[)）])"
    r"|(?<=[，,：:\s])(?=(?:[0-9一二三四五六七八九十]{1,2}[、.．)）]|[一二三四五六七八九十]是|另外|还有|此外|再有|再就是|其次|最后))"
)
# A clause shorter than this (characters, punctuation left out) is a detail of the one before.
MIN_CLAUSE = 6
# How sure the router must be of a part's topic for the part to count as a problem of its own.
MIN_CONFIDENCE = 0.6
MAX_PARTS = 6


@dataclass(frozen=True)
class Problem:
    text: str
    topic: str
    confidence: float


def clauses(text: str) -> list[str]:
    """The text's clauses, in order, stripped; enumerations start a new clause."""
    found: list[str] = []
    for sentence in _BREAK.split(text):
        for piece in _ITEM.split(sentence):
            piece = piece.strip(" \t，,：:、")
            if piece:
                found.append(piece)
    return found


def _length(text: str) -> int:
    return len(re.sub(r"[\W_]", "", text))


def several_problems(text: str, classify: Callable[[str], tuple[str, float]]) -> tuple[Problem, ...]:
    """The problems of `text`, when it holds problems of at least two topics; () otherwise."""
    pieces = clauses(text)
    if len(pieces) < 2:
        return ()
    parts: list[Problem] = []
    for clause in pieces:
        topic, confidence = classify(clause) if _length(clause) >= MIN_CLAUSE else (OTHER, 0.0)
        sure = topic != OTHER and confidence >= MIN_CONFIDENCE
        if parts and (not sure or parts[-1].topic == topic):
            last = parts[-1]
            parts[-1] = Problem(f"{last.text}，{clause}", last.topic, max(last.confidence, confidence if sure else 0))
        else:
            parts.append(Problem(clause, topic if sure else OTHER, confidence if sure else 0.0))
    by_topic: dict[str, Problem] = {}
    for part in parts:
        if part.topic == OTHER:
            continue
        if (seen := by_topic.get(part.topic)) is not None:
            part = Problem(f"{seen.text}；{part.text}", part.topic, max(seen.confidence, part.confidence))
        by_topic[part.topic] = part
    if not 2 <= len(by_topic) <= MAX_PARTS:
        return ()
    return tuple(by_topic.values())
