"""Builders for tests: a scripted intent parser (unit tests only) and a dispatcher on real storage."""

from __future__ import annotations

from typing import Any

from bot.runtime import mirror_directory
from casework.workdays import WorkingCalendar
from handlers.dispatch import Dispatcher
from nlu.client import IntentParser, NluUnavailable, Understanding
from nlu.topics import TopicClassifier
from services.conversations import Inbound, Inbox
from settings import Settings, load_deployment
from storage import redis as redis_connection
from storage.db import make_engine, make_sessionmaker
from storage.keys import Keys


class ScriptedParser(IntentParser):
    """Answers like Rasa from a script: {substring: (intent, confidence, entities)}; first match wins."""

    def __init__(self, script: dict[str, tuple[str, float, list[dict[str, Any]]]]) -> None:
        self.script = script
        self.down = False

    async def parse(self, text: str) -> dict[str, Any]:
        if self.down:
            raise NluUnavailable("connection refused")
        for needle, (intent, confidence, entities) in self.script.items():
            if needle in text:
                return {"intent": {"name": intent, "confidence": confidence}, "entities": entities}
        return {"intent": {"name": "nlu_fallback", "confidence": 0.3}, "entities": []}


async def build_dispatcher(settings: Settings, parser: IntentParser) -> tuple[Dispatcher, Any]:
    """A dispatcher on the settings' database and Redis; returns it and a closer."""
    deployment = load_deployment(settings.config_path)
    engine = make_engine(settings.async_database_url)
    redis = redis_connection.connect(settings.redis_url, settings.var_dir)
    sessionmaker = make_sessionmaker(engine)
    await mirror_directory(sessionmaker, deployment)
    dispatcher = Dispatcher(
        Inbox(sessionmaker, redis, Keys(settings.redis_prefix), deployment),
        Understanding(parser, TopicClassifier.from_project()),
        deployment,
        WorkingCalendar(deployment.calendar.holidays, deployment.calendar.workdays),
    )

    async def close() -> None:
        await redis.aclose()
        await engine.dispose()

    return dispatcher, close


async def say(dispatcher: Dispatcher, user_id: str, text: str = "", channel: str = "web", **fields: Any) -> str:
    """Send one message; return the bot's replies joined, for assertions on what the citizen reads."""
    replies = await dispatcher.handle(Inbound(channel=channel, user_id=user_id, text=text, **fields))
    return "\n".join(r.text for r in replies)
