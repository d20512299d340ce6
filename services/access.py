"""Who sees what, decided in one place (DESIGN.md, "Who sees what" and "Privacy").

- Staff and admins (and the system's own jobs) see everything, identities included.
- A department sees its own cases once they have been transferred to it (a case routed to it but still
  已受理 is not yet theirs), and the messages of the citizens whose cases it handles.
- A deputy sees the cases they follow and the citizens who came through their QR code (such a citizen's
  cases follow that deputy), and their own 履职档案.
- A citizen sees their own cases in full, and of a case they follow only its public summary and progress.
- Names, phone numbers and ID numbers are masked for anyone but authorised staff; *how* to mask is the pure
  rule of `casework.privacy`, *who* reads what unmasked is decided here, role by role:

  - staff and admins read everything as written: texts, the contact phone, the citizen's channel id;
  - the handling department reads the case's texts (description, events, replies) with names, phone and
    ID numbers masked, and the phone the citizen left for the handling staff as written (only when they
    agreed to be contacted; an anonymous case has none); never a channel id;
  - a deputy following the case reads the texts masked and the contact phone masked; never a channel id;
  - the contact (consent and phone) is read through one door, `services.cases.case_contact`, which records
    every read (who, when, whether unmasked: `reads_contact`); a case's JSON carries the phone masked for
    everyone, and only staff may list who read a contact (`may_audit_contact_views`);
  - the citizen reads their own case as they wrote it (in the chat);
  - a citizen following someone else's case, or offered it as a similar case, reads only its public
    summary: the topic, a short masked line without house numbers, the place at street level, and its
    progress; never its text or contact;
  - the published lists and their exports are masked, whoever reads them (casework.lists), and on the public
    pages (/public/) addresses are cut to the street too; only the months staff published are shown there;
  - a push is masked as its reader: as written to the case's citizen and the staff, masked to a
    department, a deputy or a follower.
  The deployment's deputies are public officials: their names stay as written (`public_names`).
- The console's desks: the reception desk is for staff and admins; a deputy's own page (their cases,
  bookings, points, card and chats) for that deputy; the users page and its record of admin acts for admins.

Figures (the console's /console/figures) carry no identities: staff and admins read those of every case, a
department those of its own cases, the very cases it sees (`figures_filter`); deputies read their own record
instead. Staff and admins choose the months published (`may_publish`).

Every door asks the same questions with plain data, so the console's live streams can too:
`may_see_case(actor, CaseScope)`, `may_see_conversation(actor, ConversationScope)`, and for lists the SQL
filter `case_filter(actor)`, so that a list is filtered in the query and never after its limit.
`case_scope` and `conversation_scope` read a scope from the store; `scope_as_dict` lets it travel with a
live event, so the worker that serves a stream decides without reading the store again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.cases import Role
from casework.lifecycle import Action
from casework.privacy import mask_name, mask_phone, mask_text, public_summary, street_level
from storage.models import Case, CaseEvent, CaseFollower, Conversation, Deputy
from storage.watch import citizen_has_case, message_of_cases

__all__ = [
    "ALL_SEEING",
    "UNMASKED",
    "OPERATOR",
    "booking_push_topic",
    "CaseScope",
    "ConversationScope",
    "View",
    "booking_phone_for",
    "case_filter",
    "case_scope",
    "case_view",
    "contact_for",
    "contact_phone_for",
    "conversation_filter",
    "conversation_scope",
    "event_actor_for",
    "follower_summary",
    "is_staff",
    "masked_for",
    "may_administer_users",
    "may_audit_contact_views",
    "figures_filter",
    "may_publish",
    "may_read_deputy_record",
    "may_read_figures",
    "may_read_reports",
    "may_run_reception_desk",
    "may_see",
    "may_see_case",
    "may_see_conversation",
    "may_see_session_bookings",
    "may_use_deputy_page",
    "message_filter",
    "name_for",
    "phone_for",
    "public_names",
    "push_masked",
    "reads_contact",
    "scope_as_dict",
    "scope_from_dict",
    "sees_booking_contacts",
    "unmasked",
]

# Roles that see every case and conversation.
ALL_SEEING = frozenset({Role.STAFF, Role.ADMIN, Role.SYSTEM})
# Roles that read identities (names, phones, ID numbers) unmasked: authorised staff.
UNMASKED = frozenset({Role.STAFF, Role.ADMIN})
TRANSFER = Action.TRANSFER.value
# The operator at the command line (`liaison report`...): whoever holds the database URL reads as an admin.
OPERATOR = Actor("operator", Role.ADMIN)


class View(StrEnum):
    """How much of a case an actor sees."""

    NONE = "none"
    SUMMARY = "summary"  # its public summary and progress (a citizen following someone else's case)
    FULL = "full"


@dataclass(frozen=True)
class CaseScope:
    """The facts about a case that decide who sees it. `transferred`: its history holds a transfer."""

    citizen_id: int | None
    department_id: int | None
    deputy_id: int | None
    transferred: bool
    follower_citizen_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class ConversationScope:
    """The facts about a citizen's conversation that decide who sees its messages: the departments their
    cases were transferred to, and the deputies their cases follow (a QR code's deputy among them)."""

    citizen_id: int
    department_ids: frozenset[int] = field(default_factory=frozenset)
    deputy_ids: frozenset[int] = field(default_factory=frozenset)


# Cases


def case_view(actor: Actor, case: CaseScope) -> View:
    """How much of `case` the actor sees."""
    if actor.role in ALL_SEEING:
        return View.FULL
    if actor.role is Role.DEPARTMENT:
        mine = actor.department_id is not None and case.department_id == actor.department_id
        return View.FULL if mine and case.transferred else View.NONE
    if actor.role is Role.DEPUTY:
        return View.FULL if actor.deputy_id is not None and case.deputy_id == actor.deputy_id else View.NONE
    if actor.role is Role.CITIZEN and actor.citizen_id is not None:
        if case.citizen_id == actor.citizen_id:
            return View.FULL
        if actor.citizen_id in case.follower_citizen_ids:
            return View.SUMMARY
    return View.NONE


def may_see_case(actor: Actor, case: CaseScope) -> bool:
    """Whether the actor sees the case at all (in full or, a citizen following it, its summary)."""
    return case_view(actor, case) is not View.NONE


def case_filter(actor: Actor) -> ColumnElement[bool]:
    """The where-clause on `Case` that keeps exactly the cases `may_see_case` allows the actor."""
    if actor.role in ALL_SEEING:
        return true()
    if actor.role is Role.DEPARTMENT:
        if actor.department_id is None:
            return false()
        transferred = exists().where(CaseEvent.case_id == Case.id, CaseEvent.action == TRANSFER)
        return and_(Case.department_id == actor.department_id, transferred)
    if actor.role is Role.DEPUTY:
        return false() if actor.deputy_id is None else Case.deputy_id == actor.deputy_id
    if actor.role is Role.CITIZEN and actor.citizen_id is not None:
        follows = exists().where(CaseFollower.case_id == Case.id, CaseFollower.citizen_id == actor.citizen_id)
        return or_(Case.citizen_id == actor.citizen_id, follows)
    return false()


async def case_scope(session: AsyncSession, case: Case, events: Sequence[CaseEvent] | None = None) -> CaseScope:
    """The scope of a stored case: whether it was ever transferred (from its `events` when already read), and
    who follows it."""
    if events is not None:
        transferred = _transferred(events)
    else:
        transferred = (
            await session.execute(select(exists().where(CaseEvent.case_id == case.id, CaseEvent.action == TRANSFER)))
        ).scalar_one()
    followers = (
        (await session.execute(select(CaseFollower.citizen_id).where(CaseFollower.case_id == case.id))).scalars().all()
    )
    return scope_of(case, bool(transferred), followers)


def scope_of(case: Case, transferred: bool, followers: Iterable[int]) -> CaseScope:
    """The scope of a case already read with its followers' citizen ids (`storage.repositories.CaseRecord`)."""
    return CaseScope(
        citizen_id=case.citizen_id,
        department_id=case.department_id,
        deputy_id=case.deputy_id,
        transferred=transferred,
        follower_citizen_ids=frozenset(followers),
    )


def record_scope(case: Case, followers: Iterable[int]) -> CaseScope:
    """The scope of a case read with its events and followers (`storage.repositories.CaseRecord`)."""
    return scope_of(case, _transferred(case.events), followers)


def _transferred(events: Iterable[CaseEvent]) -> bool:
    return any(event.action == TRANSFER for event in events)


async def conversation_scope(session: AsyncSession, citizen_id: int) -> ConversationScope:
    """The scope of a citizen's conversations: the departments their cases were transferred to, and the
    deputies their cases follow."""
    transferred = exists().where(CaseEvent.case_id == Case.id, CaseEvent.action == TRANSFER)
    departments = (
        await session.execute(
            select(Case.department_id).where(
                Case.citizen_id == citizen_id, Case.department_id.is_not(None), transferred
            )
        )
    ).scalars()
    deputies = (
        await session.execute(select(Case.deputy_id).where(Case.citizen_id == citizen_id, Case.deputy_id.is_not(None)))
    ).scalars()
    return ConversationScope(
        citizen_id=citizen_id,
        department_ids=frozenset(d for d in departments if d is not None),
        deputy_ids=frozenset(d for d in deputies if d is not None),
    )


def scope_as_dict(scope: CaseScope | ConversationScope) -> dict[str, Any]:
    """A scope as plain JSON data, to travel with a live event (Redis Streams) to every web worker."""
    if isinstance(scope, CaseScope):
        return {
            "kind": "case",
            "citizen_id": scope.citizen_id,
            "department_id": scope.department_id,
            "deputy_id": scope.deputy_id,
            "transferred": scope.transferred,
            "follower_citizen_ids": sorted(scope.follower_citizen_ids),
        }
    return {
        "kind": "conversation",
        "citizen_id": scope.citizen_id,
        "department_ids": sorted(scope.department_ids),
        "deputy_ids": sorted(scope.deputy_ids),
    }


def scope_from_dict(data: dict[str, Any]) -> CaseScope | ConversationScope:
    """The scope `scope_as_dict` wrote."""
    if data["kind"] == "case":
        return CaseScope(
            citizen_id=data["citizen_id"],
            department_id=data["department_id"],
            deputy_id=data["deputy_id"],
            transferred=bool(data["transferred"]),
            follower_citizen_ids=frozenset(data["follower_citizen_ids"]),
        )
    return ConversationScope(
        citizen_id=data["citizen_id"],
        department_ids=frozenset(data["department_ids"]),
        deputy_ids=frozenset(data["deputy_ids"]),
    )


# Conversations and live events


def may_see_conversation(actor: Actor, conversation: ConversationScope) -> bool:
    """Whether the actor may read a citizen's messages (the console's conversation pages and streams)."""
    if actor.role in ALL_SEEING:
        return True
    if actor.role is Role.DEPARTMENT:
        return actor.department_id is not None and actor.department_id in conversation.department_ids
    if actor.role is Role.DEPUTY:
        return actor.deputy_id is not None and actor.deputy_id in conversation.deputy_ids
    if actor.role is Role.CITIZEN:
        return actor.citizen_id is not None and actor.citizen_id == conversation.citizen_id
    return False


def conversation_filter(actor: Actor) -> ColumnElement[bool]:
    """The where-clause on `Conversation` for the console's lists, pages and streams: staff see every
    conversation; a department those of citizens with a case of theirs; a deputy those of citizens who came
    through their card (QR code) or whose cases follow them."""
    if actor.role in ALL_SEEING:
        return true()
    if actor.role is Role.DEPARTMENT:
        return citizen_has_case(case_filter(actor)) if actor.department_id is not None else false()
    if actor.role is Role.DEPUTY and actor.deputy_id is not None:
        return or_(Conversation.deputy_id == actor.deputy_id, citizen_has_case(case_filter(actor)))
    return false()


def message_filter(actor: Actor) -> ColumnElement[bool]:
    """The where-clause on `Message` within a conversation the actor may see: a department reads only the
    messages that belong to its own cases (the report that opened one, and the bot's answers to it)."""
    if actor.role is Role.DEPARTMENT:
        return message_of_cases(case_filter(actor))
    return true() if actor.role in ALL_SEEING or actor.role is Role.DEPUTY else false()


def may_see(actor: Actor, scope: CaseScope | ConversationScope) -> bool:
    """One question for a live stream: may the actor see an event about this case or conversation?"""
    if isinstance(scope, CaseScope):
        return may_see_case(actor, scope)
    return may_see_conversation(actor, scope)


# Reports, records and reception


def is_staff(actor: Actor | None) -> bool:
    """Authorised staff (and admins): the station's own views, such as pushes and requests for a person."""
    return actor is not None and actor.role in UNMASKED


def may_read_reports(actor: Actor) -> bool:
    """Figures, the three lists and their exports: staff and admins."""
    return is_staff(actor)


def may_read_figures(actor: Actor) -> bool:
    """The console's figures: staff and admins, and a department (of its own cases, `figures_filter`)."""
    return is_staff(actor) or (actor.role is Role.DEPARTMENT and actor.department_id is not None)


def figures_filter(actor: Actor) -> ColumnElement[bool]:
    """The where-clause on `Case` of the cases counted in the actor's figures: every case for staff, a
    department's own (those it sees: `case_filter`), none for anyone else."""
    return case_filter(actor) if may_read_figures(actor) else false()


def may_publish(actor: Actor) -> bool:
    """Choosing the months whose lists and figures are published at /public/: staff and admins."""
    return is_staff(actor)


def may_read_deputy_record(actor: Actor, deputy_code: str) -> bool:
    """A deputy's 履职档案: staff and admins, and the deputy themself."""
    if actor.role in UNMASKED:
        return True
    return actor.role is Role.DEPUTY and actor.deputy_code is not None and actor.deputy_code == deputy_code


def may_see_session_bookings(actor: Actor | None, session_deputies: Sequence[str]) -> bool:
    """The bookings of a reception session: staff, and the deputies on duty at it. `None` is the operator
    at the command line, who sees them masked."""
    if actor is None or actor.role in UNMASKED:
        return True
    return actor.role is Role.DEPUTY and actor.deputy_code is not None and actor.deputy_code in session_deputies


def may_see_bookings_in_conversations(actor: Actor) -> bool:
    """Whether a conversation's page shows the citizen's bookings: to staff, and to a deputy (who sees only the
    conversations of citizens who came to them, `conversation_filter`, and receives such citizens)."""
    return unmasked(actor) or (actor.role is Role.DEPUTY and actor.deputy_id is not None)


def booking_push_topic(topic: str, public: Collection[str]) -> str:
    """A booking's matter as the pushes to the deputies on duty tell it (a new booking, a cancellation, the
    morning digest): names, phone numbers and ID numbers in it masked, as a deputy reads any text (a number
    written in it is no call-back request). The call-back phone the citizen left at the booking's phone step
    goes with it as written: they asked the deputy to call them back."""
    return mask_text(topic, (), public)


def sees_booking_contacts(actor: Actor | None) -> bool:
    """Whether the booking citizens' phone numbers are shown unmasked: to staff, and to the deputy on duty
    who receives (and may call back) the citizen. The command line shows them masked."""
    return actor is not None and actor.role in (*UNMASKED, Role.DEPUTY)


def booking_phone_for(actor: Actor | None, phone: str | None) -> str | None:
    """A booking's call-back phone as the actor reads it: as written to those who see booking contacts, else
    masked."""
    if phone is None or sees_booking_contacts(actor):
        return phone
    return mask_phone(phone)


# The console's desks


def may_run_reception_desk(actor: Actor) -> bool:
    """The reception desk (a week of sessions, their bookings and waiting lists; closing a session, naming its
    deputies): staff and admins."""
    return is_staff(actor)


def may_use_deputy_page(actor: Actor) -> bool:
    """A deputy's own page: a user acting as a deputy of config.yml (their cases, bookings, points, card)."""
    return actor.role is Role.DEPUTY and actor.deputy_code is not None


def may_administer_users(actor: Actor) -> bool:
    """Adding, disabling and re-enabling users, resetting passwords and tokens, reading the record: admins."""
    return actor.role is Role.ADMIN


# Masking


def unmasked(actor: Actor | None) -> bool:
    """Whether the actor reads identities as they are (authorised staff) rather than masked."""
    return is_staff(actor)


async def public_names(session: AsyncSession) -> frozenset[str]:
    """The names that stay as written in any text: the deputies', public officials (config.yml)."""
    return frozenset((await session.execute(select(Deputy.name))).scalars())


def masked_for(actor: Actor | None, text: str, names: Iterable[str | None] = (), public: Collection[str] = ()) -> str:
    """`text` as the actor may read it: unless staff, phone and ID numbers masked, and the names of people
    (those in `names` and those the tagger finds) but for the `public` ones."""
    return text if unmasked(actor) else mask_text(text, names, public)


def event_actor_for(actor: Actor | None, role: str, name: str) -> str:
    """Who acted in a case's event, as the actor may read it: a citizen's channel id (their WeChat openid...)
    is an identity, shown to staff only, anonymous case or not."""
    return name if role != Role.CITIZEN.value or unmasked(actor) else Role.CITIZEN.value


def reads_contact(actor: Actor | None, case: CaseScope) -> bool:
    """Whether the actor reads the phone a citizen left "for the handling staff" as written: staff and admins,
    and the department handling the case (once it was transferred to them)."""
    if actor is None:
        return False
    if actor.role in UNMASKED:
        return True
    return actor.role is Role.DEPARTMENT and case_view(actor, case) is View.FULL


def contact_for(actor: Actor | None, case: Case, scope: CaseScope) -> tuple[str | None, bool]:
    """(the phone the citizen left on the case as the actor may read it, whether as written): as written to
    those who `reads_contact`, masked to anyone else; (None, False) when the citizen did not agree to be
    contacted, left no number or reported anonymously. The caller records the read."""
    if case.anonymous or not case.contact_consent or not case.contact_phone:
        return None, False
    if reads_contact(actor, scope):
        return case.contact_phone, True
    return mask_phone(case.contact_phone), False


def contact_phone_for(actor: Actor | None, case: Case) -> str | None:
    """The phone the citizen left on the case, as a case's JSON (lists, detail) carries it: masked for every
    reader, so that no read of it as written goes unrecorded (`contact_for`, through `case_contact`); none when
    the citizen did not agree to be contacted or reported anonymously."""
    if case.anonymous or not case.contact_consent or not case.contact_phone:
        return None
    return mask_phone(case.contact_phone)


def may_audit_contact_views(actor: Actor | None) -> bool:
    """Who may list the reads of a citizen's contact: staff and admins."""
    return is_staff(actor)


def follower_summary(case: Case, public: Collection[str] = ()) -> tuple[str, str]:
    """(summary, place) of someone else's case, as a citizen following it or offered it reads them: a short
    masked line without house numbers, and the place at street level. Never the text or the contact."""
    names = case.named_people
    return public_summary(case.description, names, public), street_level(mask_text(case.place, names, public))


def push_masked(recipient_type: str, recipient: str) -> bool:
    """Whether a push's text is masked for its reader: the case's own citizen and the staff read it as
    written; a department, a deputy and a citizen following someone else's case read it masked."""
    if recipient.startswith("follower:"):
        return True
    return recipient_type not in (Role.CITIZEN.value, Role.STAFF.value)


def phone_for(actor: Actor | None, phone: str | None) -> str | None:
    if phone is None or unmasked(actor):
        return phone
    return mask_phone(phone)


def name_for(actor: Actor | None, name: str | None) -> str | None:
    if name is None or unmasked(actor):
        return name
    return mask_name(name)
