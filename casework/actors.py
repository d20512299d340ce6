"""Who acts: a user of the API or console, a citizen in the chat, or the system."""

from __future__ import annotations

from dataclasses import dataclass

from casework.cases import Role


@dataclass(frozen=True)
class Actor:
    """Who acts on a case: a user of the API or console, a citizen in the chat, or the system."""

    name: str
    role: Role
    department_id: int | None = None
    citizen_id: int | None = None
    # A deputy's code (config.yml) and row id, when a deputy's user acts.
    deputy_code: str | None = None
    deputy_id: int | None = None
