"""Understanding a citizen's message: Rasa for intent and entities, our own topic router, and a
keyword fallback so that a citizen never waits on a dead or slow NLU."""

from __future__ import annotations

import abc
import asyncio
import functools
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from nlu import keywords
from nlu.entities import supplement
from nlu.problems import Problem, clauses, several_problems
from nlu.topics import OTHER, TopicClassifier
from settings.environment import split_urls

# DIET is quick on short texts; very long letters add nothing to the intent but latency.
MAX_PARSE_CHARS = 1000


class NluUnavailable(Exception):
    """The NLU server did not answer in time or answered with an error."""


@dataclass(frozen=True)
class TopicReading:
    """What the topic router makes of a text: its topic and, when it holds problems of several topics, those."""

    topic: str = OTHER
    confidence: float = 0.0
    problems: tuple[Problem, ...] = ()


@dataclass
class NluResult:
    text: str
    intent: str
    confidence: float
    entities: list[dict[str, Any]] = field(default_factory=list)
    # "rasa" when the model answered, "keywords" when the fallback guessed, "none" when nothing could.
    source: str = "rasa"
    # The topic router's reading, made when a flow first asks for it: most messages (a menu digit, 确认, a
    # place) never need it, and a report's text is read once for its topic and its several problems.
    read_topics: Callable[[], TopicReading] = field(default=TopicReading, repr=False, compare=False)

    @functools.cached_property
    def _topics(self) -> TopicReading:
        return self.read_topics()

    @property
    def topic(self) -> str:
        return self._topics.topic

    @property
    def topic_confidence(self) -> float:
        return self._topics.confidence

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The problems of several topics the text holds (nlu.problems), when it holds more than one."""
        return self._topics.problems

    @property
    def topic_read(self) -> bool:
        """Whether a flow asked for the topic (the message log keeps it then)."""
        return "_topics" in self.__dict__

    def entity(self, name: str) -> str | None:
        return next((e["value"] for e in self.entities if e["entity"] == name), None)

    def as_contract(self) -> dict[str, Any]:
        """The JSON object `liaison nlu parse` prints (DESIGN.md contract)."""
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "entities": [{k: e[k] for k in ("entity", "value", "start", "end")} for e in self.entities],
            "topic": self.topic,
            "topic_confidence": self.topic_confidence,
        }


class IntentParser(abc.ABC):
    """The seam to the intent model: one call, a short timeout, NluUnavailable on any failure."""

    @abc.abstractmethod
    async def parse(self, text: str) -> dict[str, Any]:
        """Return Rasa's parse dict: {"intent": {"name", "confidence"}, "entities": [...]}."""

    async def close(self) -> None:
        return None


class RasaParser(IntentParser):
    """Rasa's HTTP API on one or several servers; `token` is their `--auth-token`, sent as Rasa reads it
    (`?token=`).

    `urls` is one base URL or several (a list, or comma-separated as RASA_URL writes them). Messages go to the
    servers in turn (round robin). A server that fails to answer (refused, unreachable, timed out, a 5xx) is
    skipped for DOWN_FOR seconds and the same message goes to the next one; when every server is skipped, the
    one whose pause ends first is asked all the same, so a lone server is asked for every message, as before.
    The whole parse, every server tried, takes at most `timeout`: connecting gets a small share of it, so a
    dead server leaves time to ask another.
    """

    DOWN_FOR = 5.0  # seconds a failed server is skipped
    CONNECT_SHARE = 0.25  # of the timeout, for connecting to one server

    def __init__(
        self,
        urls: str | Sequence[str],
        timeout: float,
        token: str = "",
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.urls = split_urls(urls) if isinstance(urls, str) else [url.rstrip("/") for url in urls]
        if not self.urls:
            raise ValueError("no Rasa server given")
        self._timeout = timeout
        self._clock = clock
        self._turn = itertools.count()
        self._down_until = dict.fromkeys(self.urls, 0.0)
        self._client = httpx.AsyncClient(
            timeout=timeout, params={"token": token} if token else None, transport=transport
        )

    async def parse(self, text: str) -> dict[str, Any]:
        deadline = self._clock() + self._timeout
        failures: list[str] = []
        for url in self._order():
            left = deadline - self._clock()
            if left <= 0:
                break
            timeout = httpx.Timeout(left, connect=min(left, self._timeout * self.CONNECT_SHARE))
            try:
                response = await self._client.post(f"{url}/model/parse", json={"text": text}, timeout=timeout)
                if response.status_code >= 500:
                    raise httpx.HTTPStatusError(
                        f"{url} answered {response.status_code}", request=response.request, response=response
                    )
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                self._down_until[url] = self._clock() + self.DOWN_FOR
                failures.append(f"{url}: {exc or type(exc).__name__}")
                continue
            try:
                response.raise_for_status()
                return response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise NluUnavailable(str(exc) or type(exc).__name__) from exc
        raise NluUnavailable("; ".join(failures) or "no time left to ask a Rasa server")

    def _order(self) -> list[str]:
        """This message's servers: the live ones from the next in turn, or else the one back soonest."""
        start = next(self._turn) % len(self.urls)
        turn = self.urls[start:] + self.urls[:start]
        now = self._clock()
        live = [url for url in turn if self._down_until[url] <= now]
        return live or [min(turn, key=self._down_until.__getitem__)]

    async def ready(self) -> bool:
        """Whether at least one server has its model loaded."""
        answers = await asyncio.gather(*(self._ready(url) for url in self.urls))
        return any(answers)

    async def _ready(self, url: str) -> bool:
        try:
            response = await self._client.get(f"{url}/status")
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False

    async def close(self) -> None:
        await self._client.aclose()


class Understanding:
    """Turns a message into an NluResult; never raises because the NLU is down."""

    def __init__(self, parser: IntentParser, topics: TopicClassifier | None = None) -> None:
        self.parser = parser
        self.topics = topics or TopicClassifier.from_project()

    async def understand(self, text: str) -> NluResult:
        clipped = text[:MAX_PARSE_CHARS]
        read_topics = functools.partial(self._read_topics, clipped)
        try:
            raw = await self.parser.parse(clipped)
        except NluUnavailable:
            guess = keywords.guess_intent(clipped)
            return NluResult(
                text=text,
                intent=guess or "nlu_fallback",
                confidence=0.0,
                entities=supplement(clipped, []),
                source="keywords" if guess else "none",
                read_topics=read_topics,
            )
        intent = raw.get("intent") or {}
        entities = [
            {"entity": e["entity"], "value": e["value"], "start": e.get("start", 0), "end": e.get("end", 0)}
            for e in raw.get("entities", [])
        ]
        return NluResult(
            text=text,
            intent=intent.get("name") or "nlu_fallback",
            confidence=float(intent.get("confidence") or 0.0),
            entities=supplement(clipped, entities),
            read_topics=read_topics,
        )

    def _read_topics(self, text: str) -> TopicReading:
        """The text's topic and its clauses' in one call of the router (its cost is mostly per call)."""
        pieces = clauses(text)
        readings = dict(zip([text, *pieces], self.topics.classify_many([text, *pieces]), strict=True))
        topic, confidence = readings[text]
        return TopicReading(topic, confidence, several_problems(text, readings.__getitem__))
