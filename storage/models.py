"""SQLAlchemy models of the case store. The database is the source of truth."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc(moment: dt.datetime) -> dt.datetime:
    """Aware UTC; a naive value (as SQLite gives back a moment read without the column's type) was stored in UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Moments in UTC on every database. SQLite keeps no time zone: a value written with one would come
    back naive in whatever zone it was written (a Beijing deadline 8 hours off), so store UTC and say so."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        value = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON}


class Station(Base):
    __tablename__ = "stations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    hours: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40))


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str] = mapped_column(String(40), default="")


class Deputy(Base):
    __tablename__ = "deputies"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(20))
    constituency: Mapped[str] = mapped_column(String(200))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str] = mapped_column(String(40), default="")


class Citizen(Base):
    __tablename__ = "citizens"
    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="citizen")


class ChannelIdentity(Base):
    """How one citizen is known on one channel (WeChat openid, Telegram chat id...)."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_inbound_at: Mapped[dt.datetime | None]
    citizen: Mapped[Citizen] = relationship(back_populates="identities")


class Conversation(Base):
    """All messages between one citizen identity and the station on one channel."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("identity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identities.id"))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # What the console's list shows and filters on, kept with each turn (no scan of the messages).
    last_inbound_at: Mapped[dt.datetime | None]
    last_text: Mapped[str] = mapped_column(String(200), default="")
    last_direction: Mapped[str] = mapped_column(String(3), default="in")
    # The latest inbound message's status (handled, failed, nlu_pending...) and the NLU's confidence in it.
    last_status: Mapped[str] = mapped_column(String(20), default="received")
    last_confidence: Mapped[float | None] = mapped_column(Float)
    # The dialogue's flow after the latest turn (report, booking...), None when the citizen is in no flow.
    flow: Mapped[str | None] = mapped_column(String(20))
    # The deputy whose card (QR code) brought the citizen; that deputy may read the conversation.
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputies.id"))
    # A staff member holding the conversation (接管): the bot stays silent for the citizen meanwhile.
    held_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    held_since: Mapped[dt.datetime | None]
    # The holder's latest action; a hold idle for longer than configured returns to the bot.
    staff_active_at: Mapped[dt.datetime | None]


class ConversationAction(Base):
    """A person's act on a conversation, with who and when: take over, a staff message, hand back (or the
    hold's idle expiry, by the system)."""

    __tablename__ = "conversation_actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))  # take | send | hand_back | expire
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Message(Base):
    """One inbound or outbound message, written before the bot acts on it."""

    __tablename__ = "messages"
    __table_args__ = (
        # Per conversation: ids are the sender's (a client may number its messages per user).
        UniqueConstraint("conversation_id", "direction", "external_id"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        # The recovery pass looks for messages left received every few seconds: only those are indexed.
        Index(
            "ix_messages_received_created_at",
            "created_at",
            postgresql_where=text("status = 'received'"),
            sqlite_where=text("status = 'received'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    # The channel's own id of the delivery (WeChat MsgId...), for duplicate detection.
    external_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(20))  # text, image, location, voice, event, ...
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Inbound: received -> handled | rate_limited | nlu_pending | unsupported | failed, set once (a compare-and-
    # set from received). Outbound: sent (in the answer to the message), pushed (the answer went out as a push:
    # the recovery pass), unread (a push waiting for a channel that cannot push).
    status: Mapped[str] = mapped_column(String(20), default="received")
    intent: Mapped[str | None] = mapped_column(String(40))
    confidence: Mapped[float | None] = mapped_column(Float)
    # The topic the router gave an inbound text (shown to staff beside the intent).
    topic: Mapped[str | None] = mapped_column(String(40))
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    # The case the message belongs to (the report that opened it): what its department may read of the chat.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NluCorrection(Base):
    """What staff say the NLU should have understood of an inbound message: its intent, its topic, the place
    in it. Exported as candidate training data (`liaison nlu corrections`)."""

    __tablename__ = "nlu_corrections"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    intent: Mapped[str] = mapped_column(String(40))
    topic: Mapped[str | None] = mapped_column(String(40))
    place: Mapped[str] = mapped_column(String(300), default="")
    corrected_by: Mapped[str] = mapped_column(String(100))
    corrected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class HumanRequest(Base):
    """A citizen asked for a person; staff answer it from the console."""

    __tablename__ = "human_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answer_by: Mapped[dt.datetime]
    answered_at: Mapped[dt.datetime | None]


class CaseCounter(Base):
    """Last sequence number used for case numbers on one day."""

    __tablename__ = "case_counters"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        # 我的案件: a citizen's latest cases, newest first, from the index alone.
        Index("ix_cases_citizen_id_id", "citizen_id", "id"),
        # The desk's cases that need nothing now, in their order (services.casedesk.worklist).
        Index("ix_cases_reply_due_at_id", "reply_due_at", "id"),
        # A department's cases, and how many of them are in each state (the desk's capped counts).
        Index("ix_cases_department_id_state", "department_id", "state"),
        # The desk's opening view, the cases not concluded (a few percent of the table): counted and ordered
        # from the index alone (services.casedesk.unconcluded_column).
        Index(
            "ix_cases_at_desk",
            "state",
            "department_id",
            "topic",
            "station_id",
            "deputy_id",
            "transfer_due_at",
            "reply_due_at",
            "created_at",
            "id",
            postgresql_where=text("state NOT IN ('closed', 'rejected', 'withdrawn')"),
            sqlite_where=text("state NOT IN ('closed', 'rejected', 'withdrawn')"),
        ),
        # The desk's order of work (services.casedesk `_rows_by_need`): the cases not concluded by reply deadline,
        # with what a need and the desk's filters read, so that a need's first page is read in order, index alone.
        Index(
            "ix_cases_desk_due",
            "reply_due_at",
            "id",
            "state",
            "transfer_due_at",
            "department_id",
            "topic",
            "station_id",
            "deputy_id",
            postgresql_where=text("state NOT IN ('closed', 'rejected', 'withdrawn')"),
            sqlite_where=text("state NOT IN ('closed', 'rejected', 'withdrawn')"),
        ),
        # The deadline scan's cases to look at now: a few of the open cases, none of the concluded ones.
        Index(
            "ix_cases_next_notice_at",
            "next_notice_at",
            postgresql_where=text("next_notice_at IS NOT NULL"),
            sqlite_where=text("next_notice_at IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    # Indexed: the desk's filters, a department's and a deputy's cases.
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputies.id"), index=True)
    state: Mapped[str] = mapped_column(String(30), index=True)
    topic: Mapped[str] = mapped_column(String(40))
    topic_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    description: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(String(300), default="")
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    # The names of people the NLU found in the report (its `person` entities): masked wherever the
    # case's texts are shown to anyone but staff, with the names the tagger finds (casework.privacy).
    named_people: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # How it came in (casework.cases.Source): online (the citizen's report), reception (a deputy's), split.
    source: Mapped[str] = mapped_column(String(20), default="online", server_default="online")
    # Indexed: the figures and the lists select the cases received in a month.
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    transfer_due_at: Mapped[dt.datetime]
    reply_due_at: Mapped[dt.datetime]
    overdue_at: Mapped[dt.datetime]
    escalation_level: Mapped[str | None] = mapped_column(String(20))
    merged_into: Mapped[str | None] = mapped_column(String(20))
    # Indexed: the 办理效果清单 of a month selects the cases closed in it.
    closed_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    # The milestones its events settled (casework.metrics.Milestones) and its latest rating, set as each is
    # written (services/cases.py record_event), so that the figures count cases without reading their events.
    transferred_at: Mapped[dt.datetime | None]
    left_received_at: Mapped[dt.datetime | None]
    answered_at: Mapped[dt.datetime | None]
    closed_unrated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    rehandled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    escalated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    latest_rating: Mapped[str | None] = mapped_column(String(10))
    # When the deadline scan (services/cases.py scan_deadlines) must look at the case again for reminders, alerts
    # and its closing as unrated (casework.notices.next_look); None when nothing can come until it changes. Every
    # change of an open case sets it to the change's moment, and a concluded case has none.
    next_notice_at: Mapped[dt.datetime | None]
    # Optimistic lock: every change bumps it, so two staff acting at once cannot both win.
    version: Mapped[int] = mapped_column(Integer, default=1)
    events: Mapped[list[CaseEvent]] = relationship(order_by="CaseEvent.id", back_populates="case")
    attachments: Mapped[list[CaseAttachment]] = relationship(order_by="CaseAttachment.id", back_populates="case")


class DeskCount(Base):
    """How many cases not concluded have this state, department, topic, station and deputy (no department or deputy:
    0). Kept by triggers on `cases` (migration 0011), whoever writes the cases; the desk's facets are summed from
    these rows (services.casedesk). A row left at 0 stays. A later migration that rebuilds `cases` on SQLite
    (Alembic's batch mode copies the table) must create the triggers again."""

    __tablename__ = "desk_counts"
    state: Mapped[str] = mapped_column(String(30), primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(40), primary_key=True)
    station_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deputy_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)


class CaseEvent(Base):
    """One change of a case: who, in which role, when, from which state to which, and why."""

    __tablename__ = "case_events"
    __table_args__ = (
        # The 交办清单 of a month finds its transfers by action and time.
        Index("ix_case_events_action_at", "action", "at"),
        # A case's events; with their times, whether a case had one in a period is read from the index alone
        # (a deputy's yearly record asks it of every case they follow).
        Index("ix_case_events_case_id_at", "case_id", "at"),
        # A deputy's record finds what their users did, among millions of other events.
        Index(
            "ix_case_events_deputy_actor",
            "actor",
            postgresql_where=text("actor_role = 'deputy'"),
            sqlite_where=text("actor_role = 'deputy'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")
    # What the reason says, as data (casework.lifecycle.Transition.detail): an assignment's topic and department
    # before and after, the standing committee's act, the numbers a split made or came from.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    case: Mapped[Case] = relationship(back_populates="events")


class ContactView(Base):
    """Someone read the contact a citizen left on a case (their consent and phone): who, in which role, when,
    and whether the phone was shown as written. Every read through `services.cases.case_contact` is one row."""

    __tablename__ = "contact_views"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(20))
    unmasked: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CaseAttachment(Base):
    """A photo, location or voice note the citizen sent with the case."""

    __tablename__ = "case_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    media_ref: Mapped[str] = mapped_column(String(500), default="")
    label: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    case: Mapped[Case] = relationship(back_populates="attachments")


class CaseReply(Base):
    """The department's (or staff's) answer to a case, reviewed by staff before it reaches the citizen."""

    __tablename__ = "case_replies"
    # The desk's replies waiting for review: a few among millions approved.
    __table_args__ = (
        Index(
            "ix_case_replies_pending_case_id",
            "case_id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(100))
    author_role: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | approved | sent_back
    # 1 for the first approved reply, 2 after re-handling; set on approval.
    number: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[dt.datetime | None]
    review_note: Mapped[str] = mapped_column(Text, default="")


class Rating(Base):
    """The citizen's rating of one reply (reply 0 is a deputy's answer on the spot); one per reply."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("case_id", "reply_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reply_number: Mapped[int] = mapped_column(Integer)
    rating: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person using the API or console: staff, a department's handler, a deputy or an admin."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputies.id"))
    # Only a hash of the API token is kept; the token itself is shown once, when created.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # Where pushes reach this person (e.g. telegram + chat id); none means the console only.
    channel: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Push(Base):
    """A message the station sends on its own initiative (not a reply): recorded, then sent by a worker.

    `dedupe_key` makes each push exist once however often the job that creates it runs.
    Status: queued -> sending -> sent; or retry (with next_attempt_at), failed, waiting_window
    (WeChat's 48-hour window is closed and no template applies), no_channel (nobody to send it to).
    """

    __tablename__ = "pushes"
    __table_args__ = (Index("ix_pushes_status_next_attempt_at", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient_type: Mapped[str] = mapped_column(String(20))  # citizen | staff | department | deputy
    recipient: Mapped[str] = mapped_column(String(100))  # a citizen id or a user name, for people to read
    channel: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(128))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[dt.datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class CaseLink(Base):
    """Two cases that look like one common problem (共性问题), found when the later one was registered."""

    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "similar_case_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    similar_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CaseFollower(Base):
    """A citizen who chose to follow someone else's case of the same problem instead of opening one."""

    __tablename__ = "case_followers"
    __table_args__ = (UniqueConstraint("case_id", "conversation_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReceptionSession(Base):
    """One reception session on one day (a weekly session, the 议事日 or an extra one), made from the rota.

    `key` is station:day:HHMM. Staff may close it (with a reason) or name its deputies (`changed_by`):
    the rota no longer overrides it then.
    """

    __tablename__ = "reception_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    kind: Mapped[str] = mapped_column(String(20))  # weekly | council | extra
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    slot_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    deputies: Mapped[list[str]] = mapped_column(JSON, default=list)  # deputy codes, in rota order
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    close_reason: Mapped[str] = mapped_column(Text, default="")
    changed_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    slots: Mapped[list[ReceptionSlot]] = relationship(order_by="ReceptionSlot.starts_at", back_populates="session")


class ReceptionSlot(Base):
    """A slot of a session. `booked` counts active bookings and places held for a waiting-list offer;
    it only moves by conditional UPDATEs, so it never exceeds `capacity` however many book at once."""

    __tablename__ = "reception_slots"
    __table_args__ = (UniqueConstraint("session_id", "starts_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("reception_sessions.id"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(index=True)
    ends_at: Mapped[dt.datetime]
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    session: Mapped[ReceptionSession] = relationship(back_populates="slots")


class Booking(Base):
    """A citizen's booking of a slot. Status: booked -> cancelled (by the citizen) | moved (changed to
    another booking, `moved_to_id`) | closed (the station closed the session). After the session its
    outcome: attended | absent | answered (with the answer) | case (turned into `case_id`).
    At most one booked booking per citizen and week (a partial unique index)."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index(
            "uq_bookings_citizen_week_booked",
            "citizen_id",
            "week",
            unique=True,
            postgresql_where=text("status = 'booked'"),
            sqlite_where=text("status = 'booked'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("reception_slots.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("reception_sessions.id"), index=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    week: Mapped[str] = mapped_column(String(8))  # ISO week of the slot, e.g. 2026-W48
    status: Mapped[str] = mapped_column(String(20), default="booked")
    topic: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    moved_to_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    outcome_by: Mapped[str | None] = mapped_column(String(100))
    outcome_at: Mapped[dt.datetime | None]
    received_by: Mapped[str | None] = mapped_column(String(64))  # the deputy's code
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))


class BookingWait(Base):
    """A place on a full slot's waiting list. Status: waiting -> offered (a freed place is held for them
    until `offer_expires_at`) -> booked | declined | expired; or withdrawn (by them or a closing)."""

    __tablename__ = "booking_waits"
    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("reception_slots.id"), index=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    topic: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="waiting", index=True)
    offered_at: Mapped[dt.datetime | None]
    offer_expires_at: Mapped[dt.datetime | None]
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BookingCounter(Base):
    """Last sequence number used for booking numbers on one day."""

    __tablename__ = "booking_counters"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class AdminAction(Base):
    """An admin's act on a user account: who did what, when, to whom (never the password or token itself).
    Action: add | disable | enable | reset_password | reset_token."""

    __tablename__ = "admin_actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    target: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class PublishedMonth(Base):
    """A month whose three lists and headline figures staff published at /public/ (a month without a row is
    not published: its pages answer 404). Withdrawing a month deletes its row."""

    __tablename__ = "published_months"
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)  # 2026-11, a Beijing-time month
    published_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
