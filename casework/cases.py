"""Cases: their states, their numbers, and what registering one produces.

The transitions after registration are in `casework.lifecycle` (issue 3); registration is here
because it is the one transition that creates the case.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from casework.deadlines import LOCAL, CaseDeadlines
from texts import staff as texts


class CaseState(StrEnum):
    RECEIVED = "received"
    TRANSFERRED = "transferred"
    IN_PROGRESS = "in_progress"
    REPLIED = "replied"
    REHANDLING = "rehandling"
    CLOSED = "closed"
    ESCALATED = "escalated"
    ANSWERED_ON_SPOT = "answered_on_spot"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {state: texts.STATE_LABELS[state.value] for state in CaseState}


class Source(StrEnum):
    """How a case came in: the citizen's own report online, a deputy's reception, or a split of another case."""

    ONLINE = "online"
    RECEPTION = "reception"
    SPLIT = "split"


class Role(StrEnum):
    CITIZEN = "citizen"
    STAFF = "staff"
    DEPARTMENT = "department"
    DEPUTY = "deputy"
    ADMIN = "admin"
    SYSTEM = "system"


CASE_NUMBER = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,4})(\d{8})(\d{3,})(?!\d)")


def format_case_number(prefix: str, day: dt.date, sequence: int) -> str:
    """LL20261122001: prefix, the local date it was received, the day's sequence (3 digits or more)."""
    return f"{prefix}{day:%Y%m%d}{sequence:03d}"


def find_case_numbers(text: str, prefix: str) -> list[str]:
    """Case numbers written in a message, normalised to upper case."""
    return [m.group(0).upper() for m in CASE_NUMBER.finditer(text) if m.group(1).upper() == prefix.upper()]


@dataclass(frozen=True)
class Report:
    """What the citizen confirmed in the chat; becomes a case."""

    description: str
    place: str
    topic: str
    topic_confidence: float
    anonymous: bool
    contact_consent: bool
    contact_phone: str | None
    deputy_code: str | None = None
    attachments: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    # People the NLU named in the report (its `person` entities), masked wherever its text is shown.
    named_people: tuple[str, ...] = ()
    # The problems for several departments the report holds, (topic, text) each: staff split the case.
    problems: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Intake:
    """How a report came in and who registered it, written on the case (`source`) and its first event (who,
    in which role, why). Made by `online_intake`, `reception_intake` or `split_intake`."""

    source: Source
    actor: str
    role: Role
    reason: str
    # The first event's detail: the booking and deputy of a reception, the case a split part came from.
    detail: dict[str, Any] = field(default_factory=dict, compare=False)


def online_intake(citizen: str, topic: str) -> Intake:
    """The citizen reported online: they are the actor (`citizen` is their channel:id)."""
    return Intake(Source.ONLINE, citizen, Role.CITIZEN, texts.EVENT_REGISTERED.format(topic=topic))


def reception_intake(
    deputy_actor: str,
    deputy_code: str,
    deputy_name: str,
    booking_number: str,
    topic: str,
    recorded_by: str | None = None,
) -> Intake:
    """A deputy received the citizen at a booked reception and the matter became a case: the deputy's act
    (`deputy_actor`, their user name), whoever typed it (`recorded_by`: staff recording it for them)."""
    reason = texts.EVENT_REGISTERED_AT_RECEPTION.format(deputy=deputy_name, booking=booking_number, topic=topic)
    if recorded_by:
        reason += texts.EVENT_RECORDED_BY.format(who=recorded_by)
    detail = {"booking": booking_number, "deputy": deputy_code, **({"recorded_by": recorded_by} if recorded_by else {})}
    return Intake(Source.RECEPTION, deputy_actor, Role.DEPUTY, reason, detail)


def split_intake(actor: str, role: Role, original: str, topic: str) -> Intake:
    """Staff split case `original` and this part became a case of its own."""
    reason = texts.EVENT_SPLIT_FROM.format(number=original, topic=topic)
    return Intake(Source.SPLIT, actor, role, reason, {"split_from": original})


@dataclass(frozen=True)
class Registration:
    """Everything the store writes when a report becomes a case."""

    state: CaseState
    department_code: str
    deadlines: CaseDeadlines
    event_action: str
    event_reason: str
    source: Source = Source.ONLINE
    event_actor: str = ""
    event_role: Role = Role.CITIZEN


def register(
    report: Report, department_code: str, deadlines: CaseDeadlines, intake: Intake | None = None
) -> Registration:
    """A confirmed report becomes a received case, routed to the department owning its topic (or the one
    chosen for it). `intake`: how it came in (default: the citizen online, the actor filled in by the caller)."""
    if not report.description.strip():
        raise ValueError("a case needs a description")
    intake = intake or online_intake("", report.topic)
    return Registration(
        state=CaseState.RECEIVED,
        department_code=department_code,
        deadlines=deadlines,
        event_action="register",
        event_reason=intake.reason,
        source=intake.source,
        event_actor=intake.actor,
        event_role=intake.role,
    )


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LOCAL).date()
