"""Reviewing what the NLU understood: inbound messages it was unsure of or could not place, staff corrections
(intent, topic, the place in the text), and their export as candidate training data.

The export is a file of its own, `nlu/data/corrections.yml`, in Rasa's format (the topic rides as each
example's metadata, and the topic router reads it too), so the next `liaison nlu train` learns from it. A
message whose text appears in the evaluation data (real citizens' messages, never to be trained on) is left
out, whoever corrected it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.errors import Forbidden, InvalidInput, NotFound
from services import access
from settings.deployment import TOPICS
from settings.environment import ROOT
from storage.models import Message, NluCorrection
from texts import staff as texts

DOMAIN = ROOT / "nlu" / "domain.yml"
CORRECTIONS_FILE = ROOT / "nlu" / "data" / "corrections.yml"
LOW_CONFIDENCE = 0.6
UNSURE_INTENTS = ("nlu_fallback", "out_of_scope")
PAGE_SIZE = 50
# Shorter texts ("好的", "1") teach nothing and are too common to tell apart from the evaluation data.
MIN_EXPORT_CHARS = 4


@cache
def intents() -> tuple[str, ...]:
    """The intents of the NLU's domain: the only labels a correction may give (read once per process)."""
    domain = yaml.safe_load(DOMAIN.read_text(encoding="utf-8")) or {}
    return tuple(str(i) for i in domain.get("intents", []))


def topics() -> tuple[str, ...]:
    """The first-level topics a correction may give."""
    return tuple(TOPICS)


@dataclass(frozen=True)
class ReviewLine:
    message_id: int
    conversation_id: int
    text: str
    at: dt.datetime
    intent: str | None
    confidence: float | None
    topic: str | None
    status: str
    corrected_intent: str | None
    corrected_topic: str | None
    corrected_place: str
    corrected_by: str | None


def _require_staff(actor: Actor) -> None:
    if not access.is_staff(actor):
        raise Forbidden(texts.NLU_REVIEW_STAFF_ONLY, code="forbidden_role")


async def review_lines(session: AsyncSession, actor: Actor, show: str, page: int = 1) -> tuple[list[ReviewLine], int]:
    """Inbound texts to review, newest first: `low` (low confidence), `fallback` (not understood, or kept
    while the NLU was down), `corrected` (what staff corrected)."""
    _require_staff(actor)
    corrected = NluCorrection.id.is_not(None)
    needs_review = {
        "low": and_(Message.confidence.is_not(None), Message.confidence < LOW_CONFIDENCE),
        "fallback": or_(Message.intent.in_(UNSURE_INTENTS), Message.status == "nlu_pending"),
        "corrected": corrected,
    }.get(show)
    if needs_review is None:
        raise InvalidInput(texts.NLU_REVIEW_BAD_FILTER, code="bad_filter")
    query = (
        select(Message, NluCorrection)
        .outerjoin(NluCorrection, NluCorrection.message_id == Message.id)
        .where(Message.direction == "in", Message.kind == "text", Message.text != "", needs_review)
    )
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(Message.id.desc()).limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)
    )
    return [_line(message, correction) for message, correction in rows.all()], int(total)


def _line(message: Message, correction: NluCorrection | None) -> ReviewLine:
    return ReviewLine(
        message_id=message.id,
        conversation_id=message.conversation_id,
        text=message.text,
        at=message.created_at,
        intent=message.intent,
        confidence=message.confidence,
        topic=message.topic,
        status=message.status,
        corrected_intent=correction.intent if correction else None,
        corrected_topic=correction.topic if correction else None,
        corrected_place=correction.place if correction else "",
        corrected_by=correction.corrected_by if correction else None,
    )


async def correct(
    session: AsyncSession, actor: Actor, message_id: int, intent: str, topic: str, place: str, now: dt.datetime
) -> None:
    """Record (or change) what the NLU should have understood of an inbound text; commit."""
    _require_staff(actor)
    if intent not in intents():
        raise InvalidInput(texts.NLU_REVIEW_BAD_INTENT.format(intent=intent), code="bad_intent")
    if topic and topic not in TOPICS:
        raise InvalidInput(texts.NLU_REVIEW_BAD_TOPIC.format(topic=topic), code="bad_topic")
    message = await session.get(Message, message_id)
    if message is None or message.direction != "in" or message.kind != "text":
        raise NotFound(texts.NLU_REVIEW_NO_MESSAGE)
    place = place.strip()
    if place and place not in message.text:
        raise InvalidInput(texts.NLU_REVIEW_PLACE_NOT_IN_TEXT, code="place_not_in_text")
    correction = (
        await session.execute(select(NluCorrection).where(NluCorrection.message_id == message_id))
    ).scalar_one_or_none()
    if correction is None:
        correction = NluCorrection(message_id=message_id)
        session.add(correction)
    correction.intent, correction.topic, correction.place = intent, topic or None, place
    correction.corrected_by, correction.corrected_at = actor.name, now
    await session.commit()


async def export_corrections(
    session: AsyncSession, excluded_texts: Iterable[str], target: Path = CORRECTIONS_FILE
) -> tuple[int, int]:
    """Write every correction as Rasa training data to `target`; return (written, left out). Texts found in
    the evaluation data (either containing the other) are left out, and so are very short ones."""
    excluded = [_normal(text) for text in excluded_texts if _normal(text)]
    rows = await session.execute(
        select(Message.text, NluCorrection).join(NluCorrection, NluCorrection.message_id == Message.id)
    )
    by_intent: dict[str, list[dict[str, Any]]] = {}
    written = left_out = 0
    seen: set[str] = set()
    for text, correction in rows.all():
        text = " ".join(text.split())
        key = _normal(text)
        if len(key) < MIN_EXPORT_CHARS or key in seen or any(key in other or other in key for other in excluded):
            left_out += 1
            continue
        seen.add(key)
        example: dict[str, Any] = {"text": _annotated(text, correction.place)}
        if correction.topic:
            example["metadata"] = {"topic": correction.topic}
        by_intent.setdefault(correction.intent, []).append(example)
        written += 1
    document = {
        "version": "3.1",
        "nlu": [{"intent": intent, "examples": examples} for intent, examples in sorted(by_intent.items())],
    }
    header = (
        "# Candidate training data from staff corrections in the console (liaison nlu corrections).\n"
        "# Written by the tool; texts found in the evaluation data were left out.\n"
    )
    target.write_text(header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return written, left_out


def _annotated(text: str, place: str) -> str:
    """The text with the place marked as Rasa's `place` entity, [幸福路18号](place)."""
    escaped = text.replace("[", "［").replace("]", "］")
    if place and place in text:
        return escaped.replace(place, f"[{place}](place)", 1)
    return escaped


_SPACE = re.compile(r"\s+")


def _normal(text: str) -> str:
    return _SPACE.sub("", text or "")
