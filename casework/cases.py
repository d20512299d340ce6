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


@dataclass(frozen=True)
class Registration:
    """Everything the store writes when a report becomes a case."""

    state: CaseState
    department_code: str
    deadlines: CaseDeadlines
    event_action: str
    event_reason: str


def register(report: Report, department_code: str, deadlines: CaseDeadlines) -> Registration:
    """A confirmed report becomes a received case, routed to the department owning its topic."""
    if not report.description.strip():
        raise ValueError("a case needs a description")
    return Registration(
        state=CaseState.RECEIVED,
        department_code=department_code,
        deadlines=deadlines,
        event_action="register",
        event_reason=texts.EVENT_REGISTERED.format(topic=report.topic),
    )


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LOCAL).date()
