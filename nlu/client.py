"""Understanding a citizen's message: Rasa for intent and entities, our own topic router, and a
keyword fallback so that a citizen never waits on a dead or slow NLU."""

from __future__ import annotations

import abc
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from nlu import keywords
from nlu.entities import supplement
from nlu.topics import TopicClassifier

# DIET is quick on short texts; very long letters add nothing to the intent but latency.
MAX_PARSE_CHARS = 1000


class NluUnavailable(Exception):
    """The NLU server did not answer in time or answered with an error."""


@dataclass
class NluResult:
    text: str
    intent: str
    confidence: float
    entities: list[dict[str, Any]] = field(default_factory=list)
    topic: str = "其他"
    topic_confidence: float = 0.0
    # "rasa" when the model answered, "keywords" when the fallback guessed, "none" when nothing could.
    source: str = "rasa"

    def entity(self, name: str) -> str | None:
        return next((e["value"] for e in self.entities if e["entity"] == name), None)

    def as_contract(self) -> dict[str, Any]:
        """The JSON object `liaison nlu parse` prints (DESIGN.md contract)."""
        data = asdict(self)
        data["entities"] = [{k: e[k] for k in ("entity", "value", "start", "end")} for e in self.entities]
        del data["source"]
        return data


class IntentParser(abc.ABC):
    """The seam to the intent model: one call, a short timeout, NluUnavailable on any failure."""

    @abc.abstractmethod
    async def parse(self, text: str) -> dict[str, Any]:
        """Return Rasa's parse dict: {"intent": {"name", "confidence"}, "entities": [...]}."""

    async def close(self) -> None:
        return None


class RasaParser(IntentParser):
    """Rasa's HTTP API; `token` is its `--auth-token`, sent as Rasa reads it (`?token=`)."""

    def __init__(self, base_url: str, timeout: float, token: str = "") -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, params={"token": token} if token else None)

    async def parse(self, text: str) -> dict[str, Any]:
        try:
            response = await self._client.post("/model/parse", json={"text": text})
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise NluUnavailable(str(exc) or type(exc).__name__) from exc

    async def ready(self) -> bool:
        try:
            response = await self._client.get("/status")
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
        topic, topic_confidence = self.topics.classify(clipped)
        try:
            raw = await self.parser.parse(clipped)
        except NluUnavailable:
            guess = keywords.guess_intent(clipped)
            return NluResult(
                text=text,
                intent=guess or "nlu_fallback",
                confidence=0.0,
                entities=supplement(clipped, []),
                topic=topic,
                topic_confidence=topic_confidence,
                source="keywords" if guess else "none",
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
            topic=topic,
            topic_confidence=topic_confidence,
        )
