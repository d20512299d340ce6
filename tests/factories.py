"""Builders for tests: a scripted intent parser (unit tests only), a dispatcher on real storage, and config.yml
with a year's published arrangement."""

from __future__ import annotations

from pathlib import Path
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
        WorkingCalendar.configured(deployment.calendar),
    )

    async def close() -> None:
        await redis.aclose()
        await engine.dispose()

    return dispatcher, close


async def say(dispatcher: Dispatcher, user_id: str, text: str = "", channel: str = "web", **fields: Any) -> str:
    """Send one message; return the bot's replies joined, for assertions on what the citizen reads."""
    replies = await dispatcher.handle(Inbound(channel=channel, user_id=user_id, text=text, **fields))
    return "\n".join(r.text for r in replies)


# 2027's arrangement as the State Council might publish it, in config.yml's words (calendar.years).
PUBLISHED_2027 = """  years:
    2027:
      holidays: [2027-01-01, 2027-01-02, 2027-01-03, 2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09,
                 2027-02-10, 2027-02-11, 2027-02-12, 2027-02-13]
      workdays: [2027-02-14, 2027-02-20]
"""


def config_with_calendar(directory: Path, years: str = PUBLISHED_2027) -> Path:
    """A copy of config.yml in `directory` whose `calendar.years` is `years` (YAML, indented under calendar:)."""
    text = (Path(__file__).resolve().parent.parent / "config.yml").read_text(encoding="utf-8")
    assert "  years: {}\n" in text
    path = directory / "config.yml"
    path.write_text(text.replace("  years: {}\n", years), encoding="utf-8")
    return path
