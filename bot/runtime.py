"""The shared clients of one process, opened at start-up and closed at shutdown (one Runtime a process: closing
it stops the embedded Redis this process started)."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
from collections.abc import Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels import make_senders
from casework import privacy
from casework.workdays import WorkingCalendar
from handlers.dispatch import Dispatcher
from nlu import entities
from nlu.client import RasaParser, Understanding
from services import workdays
from services.conversations import Inbox
from services.senders import PushSender
from settings import Deployment, Settings, load_deployment
from storage import redis as redis_connection
from storage.db import check_schema, make_engine, make_sessionmaker, message_path_engine
from storage.keys import Keys
from storage.models import utcnow
from storage.repositories import DirectoryStore


@dataclass
class Runtime:
    settings: Settings
    deployment: Deployment
    calendar: WorkingCalendar
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    keys: Keys
    rasa: RasaParser
    dispatcher: Dispatcher
    senders: dict[str, PushSender]
    # The time of the doors that read it from the runtime (/healthz); tests set their own.
    clock: Callable[[], dt.datetime] = field(default=utcnow)
    # The conversation's turns' engine when it is not `engine` (storage.db.message_path_engine).
    message_engine: AsyncEngine | None = None

    @classmethod
    async def start(cls, settings: Settings, clock: Callable[[], dt.datetime] = utcnow) -> Runtime:
        """Open everything; raises ConfigError when config.yml is wrong, SchemaNotReady before migrations.
        Logs a warning for each year in reach whose working-day arrangement is not known."""
        deployment = load_deployment(settings.config_path)
        calendar = WorkingCalendar.configured(deployment.calendar)
        workdays.warn_at_start(calendar, clock())
        engine = make_engine(settings.async_database_url)
        await check_schema(engine)
        sessionmaker = make_sessionmaker(engine)
        turns = message_path_engine(settings.async_database_url, engine)
        redis = redis_connection.connect(settings.redis_url, settings.var_dir)
        keys = Keys(settings.redis_prefix)
        rasa = RasaParser(settings.rasa_urls, settings.rasa_timeout, settings.rasa_token)
        inbox = Inbox(make_sessionmaker(turns), redis, keys, deployment)
        dispatcher = Dispatcher(inbox, Understanding(rasa), deployment, calendar)
        senders = make_senders(settings, sessionmaker)
        services = cls(
            settings,
            deployment,
            calendar,
            engine,
            sessionmaker,
            redis,
            keys,
            rasa,
            dispatcher,
            senders,
            clock,
            message_engine=turns if turns is not engine else None,
        )
        await services.mirror_directory()
        # Segmentation's dictionary loads in about a second: not on a citizen's first message or list.
        await asyncio.to_thread(entities.warm_up)
        await asyncio.to_thread(privacy.warm_up)
        return services

    async def mirror_directory(self) -> None:
        await mirror_directory(self.sessionmaker, self.deployment)

    async def close(self) -> None:
        for sender in self.senders.values():
            await sender.close()
        await self.rasa.close()
        await self.redis.aclose()
        if self.settings.embedded_redis:
            redis_connection.stop_embedded(self.settings.var_dir)
        await self.engine.dispose()
        if self.message_engine is not None:
            await self.message_engine.dispose()


def settle_heap() -> None:
    """Keep what start-up loaded out of the collector's full passes, in a process that serves for long (a web
    process, the worker). The models, dictionaries and mappings are about 290,000 objects that live as
    long as the process: each full pass walked them all, 110-160 ms with the event loop stopped and every message
    in flight waiting. Not for tests, which start many runtimes in one process and would keep their garbage."""
    gc.collect()
    gc.freeze()


async def mirror_once(settings: Settings) -> None:
    """Mirror config.yml's directory before several web processes start. Each mirrors it again as it starts, and
    two inserting the same new rows at once would collide; after this they find every row as it should be and
    write nothing."""
    engine = make_engine(settings.async_database_url)
    try:
        await mirror_directory(make_sessionmaker(engine), load_deployment(settings.config_path))
    finally:
        await engine.dispose()


async def mirror_directory(sessionmaker: async_sessionmaker[AsyncSession], deployment: Deployment) -> None:
    """Stations, departments and deputies of config.yml into the case store."""
    async with sessionmaker() as session:
        await DirectoryStore(session).mirror(
            [s.model_dump() for s in deployment.stations],
            [dept.model_dump() for dept in deployment.departments],
            [dep.model_dump() for dep in deployment.deputies],
        )
        await session.commit()
