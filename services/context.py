"""What the use cases need of the running process, named by what it does rather than by who provides it.

`bot.runtime.Runtime` satisfies this protocol; a use case takes it (or a session from it, as its unit of
work) so that services never import the doors above them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casework.workdays import WorkingCalendar
from services.senders import PushSender
from settings import Deployment, Settings
from storage.keys import Keys


class Context(Protocol):
    sessionmaker: async_sessionmaker[AsyncSession]
    deployment: Deployment
    calendar: WorkingCalendar
    senders: Mapping[str, PushSender]
    settings: Settings
    redis: Redis
    keys: Keys
