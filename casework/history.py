"""The plain rows the reports are made of: a case with everything that happened to it, and a deputy.

Built from the case store by `services.reports`; read by the pure rules of `casework.metrics`,
`casework.lists` and `casework.points`. Times are timezone-aware, in UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class EventRow:
    """One event of a case. `actor_deputy` is the deputy's code when a deputy's user acted."""

    id: int
    action: str
    actor: str
    actor_role: str
    actor_deputy: str | None
    from_state: str | None
    to_state: str
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class ReplyRow:
    """An approved reply: `number` 1 for the first, 2 after re-handling."""

    number: int
    text: str
    approved_at: dt.datetime


@dataclass(frozen=True)
class RatingRow:
    reply_number: int
    rating: str
    comment: str
    at: dt.datetime


@dataclass(frozen=True)
class CaseHistory:
    """A case with the names it refers to and everything that happened to it, oldest event first.

    `citizen_name` and `citizen_phone` are identities: whoever shows them outside the staff masks them.
    `citizen_phone` is the contact number the citizen left on the case; both are None for an anonymous case.
    `named_people`: the names of people the NLU found in the report, masked wherever its texts are shown.
    """

    number: str
    state: str
    topic: str
    description: str
    place: str
    anonymous: bool
    citizen_name: str | None
    citizen_phone: str | None
    station: str
    department: str | None
    deputy_code: str | None
    deputy_name: str | None
    created_at: dt.datetime
    transfer_due_at: dt.datetime
    reply_due_at: dt.datetime
    closed_at: dt.datetime | None
    merged_into: str | None
    escalation_level: str | None
    events: tuple[EventRow, ...]
    replies: tuple[ReplyRow, ...]
    ratings: tuple[RatingRow, ...]
    named_people: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeputyRow:
    code: str
    name: str
    level: str
    constituency: str
    station: str
