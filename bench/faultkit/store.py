"""The store read back directly (SQL, not the app): inbound and outbound messages, cases, pushes.

Only tables and columns the product has had from the start are read, so the counts survive changes of
the code under test."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

_SURROGATES = {code: "\ufffd" for code in range(0xD800, 0xE000)}


def as_stored(value: str) -> str:
    """A citizen's words as the store keeps them: NUL dropped, a lone surrogate replaced."""
    return value.replace("\x00", "").translate(_SURROGATES)


@dataclass(frozen=True)
class Inbound:
    id: int
    channel: str
    user_id: str
    external_id: str | None
    text: str
    status: str
    kind: str


@dataclass(frozen=True)
class CaseRow:
    number: str
    description: str
    channel: str
    user_id: str


@dataclass(frozen=True)
class PushRow:
    dedupe_key: str
    channel: str | None
    address: str | None
    text: str
    status: str


class Store:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, poolclass=NullPool)

    def close(self) -> None:
        self.engine.dispose()

    def inbound(self) -> list[Inbound]:
        sql = text(
            "SELECT m.id, i.channel, i.external_id, m.external_id, m.text, m.status, m.kind FROM messages m "
            "JOIN conversations c ON c.id = m.conversation_id JOIN channel_identities i ON i.id = c.identity_id "
            "WHERE m.direction = 'in' ORDER BY m.id"
        )
        with self.engine.connect() as conn:
            return [Inbound(*row) for row in conn.execute(sql)]

    def replies(self) -> dict[int, list[str]]:
        """The outbound messages of each inbound one, in order."""
        sql = text(
            "SELECT in_reply_to_id, text FROM messages WHERE direction = 'out' AND in_reply_to_id IS NOT NULL "
            "ORDER BY id"
        )
        out: dict[int, list[str]] = {}
        with self.engine.connect() as conn:
            for message_id, reply in conn.execute(sql):
                out.setdefault(message_id, []).append(reply)
        return out

    def cases(self) -> list[CaseRow]:
        sql = text(
            "SELECT cs.number, cs.description, i.channel, i.external_id FROM cases cs "
            "JOIN conversations c ON c.id = cs.conversation_id JOIN channel_identities i ON i.id = c.identity_id"
        )
        with self.engine.connect() as conn:
            return [CaseRow(*row) for row in conn.execute(sql)]

    def pushes(self) -> list[PushRow]:
        sql = text("SELECT dedupe_key, channel, address, text, status FROM pushes")
        with self.engine.connect() as conn:
            return [PushRow(*row) for row in conn.execute(sql)]


class Snapshot:
    """One reading of the store, indexed the ways the counts need."""

    def __init__(self, store: Store) -> None:
        self.inbound = store.inbound()
        self.replies = store.replies()
        self.cases = store.cases()
        self.by_delivery: dict[tuple[str, str, str], list[Inbound]] = {}
        self.by_user: dict[tuple[str, str], list[Inbound]] = {}
        for message in self.inbound:
            self.by_user.setdefault((message.channel, message.user_id), []).append(message)
            if message.external_id is not None:
                self.by_delivery.setdefault((message.channel, message.user_id, message.external_id), []).append(message)

    def delivery(self, channel: str, user_id: str, external_id: str) -> list[Inbound]:
        return self.by_delivery.get((channel, user_id, external_id), [])

    def of_user(self, channel: str, user_id: str) -> list[Inbound]:
        return self.by_user.get((channel, user_id), [])

    def reply_text(self, message: Inbound) -> str:
        """The replies to one message, joined as WeChat's single passive answer joins them."""
        return "\n\n".join(r for r in self.replies.get(message.id, []) if r)

    def marked(self, pattern: re.Pattern[str]) -> Counter[str]:
        """Inbound messages carrying a marker, counted by marker."""
        return Counter(m.group(0) for message in self.inbound for m in pattern.finditer(message.text or ""))

    def duplicate_replies(self, users: set[tuple[str, str]]) -> int:
        """Replies logged twice to one message (the same text twice in reply to it), for these users."""
        extra = 0
        for key in users:
            for message in self.of_user(*key):
                counts = Counter(self.replies.get(message.id, []))
                extra += sum(n - 1 for n in counts.values() if n > 1)
        return extra

    def duplicate_cases(self, users: set[tuple[str, str]]) -> int:
        """Cases registered twice: the same citizen, the same description."""
        counts = Counter((c.channel, c.user_id, c.description) for c in self.cases if (c.channel, c.user_id) in users)
        return sum(n - 1 for n in counts.values() if n > 1)

    def stuck(self, users: set[tuple[str, str]] | None = None) -> int:
        return sum(
            1 for m in self.inbound if m.status == "received" and (users is None or (m.channel, m.user_id) in users)
        )
