"""RasaParser over several Rasa servers: round robin, a dead server skipped for a while and the message asked
of another, and the NLU-down path when none answers. The servers are a local test double (httpx's
MockTransport), the clock a number the test moves."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import ValidationError

from nlu.client import NluUnavailable, RasaParser, TopicReading, Understanding
from settings import Settings

A, B, C = "http://rasa-a:5005", "http://rasa-b:5005", "http://rasa-c:5005"


class Servers:
    """Rasa servers answering /model/parse with their own name as the intent; `dead` refuse connections,
    `hung` time out, `broken` answer 500."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.dead: set[str] = set()
        self.hung: set[str] = set()
        self.broken: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        server = f"{request.url.scheme}://{request.url.host}:{request.url.port}"
        self.asked.append(server)
        if server in self.dead:
            raise httpx.ConnectError("Connection refused", request=request)
        if server in self.hung:
            raise httpx.ReadTimeout("timed out", request=request)
        if server in self.broken:
            return httpx.Response(500, request=request)
        assert request.url.params.get("token") == "secret"
        if request.url.path == "/status":
            return httpx.Response(200, json={"model_file": "model.tar.gz"})
        text = json.loads(request.content)["text"]
        return httpx.Response(200, json={"text": text, "intent": {"name": server, "confidence": 0.9}, "entities": []})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def servers() -> Servers:
    return Servers()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def parser_for(urls: str, servers: Servers, clock: Clock) -> RasaParser:
    return RasaParser(urls, 2.0, "secret", transport=httpx.MockTransport(servers), clock=clock)


async def answered_by(parser: RasaParser, count: int) -> list[str]:
    return [(await parser.parse(f"路灯坏了 {n}"))["intent"]["name"] for n in range(count)]


async def test_messages_go_to_the_servers_in_turn(servers, clock):
    parser = parser_for(f"{A}, {B}/,{C}", servers, clock)
    assert parser.urls == [A, B, C]
    assert await answered_by(parser, 6) == [A, B, C, A, B, C]
    await parser.close()


@pytest.mark.parametrize("failure", ["dead", "hung", "broken"])
async def test_a_failed_server_is_skipped_for_a_while_and_its_message_asked_of_another(servers, clock, failure):
    parser = parser_for(f"{A},{B},{C}", servers, clock)
    getattr(servers, failure).add(B)
    # The message whose turn was B's is answered by C; then B is left out.
    assert await answered_by(parser, 5) == [A, C, C, A, C]
    assert servers.asked.count(B) == 1

    clock.now += RasaParser.DOWN_FOR - 0.1
    assert B not in await answered_by(parser, 3)
    assert servers.asked.count(B) == 1

    # Its pause over, B is asked again; back on its feet, it takes its turns.
    getattr(servers, failure).clear()
    clock.now += 0.2
    assert sorted(await answered_by(parser, 3)) == [A, B, C]
    await parser.close()


async def test_when_every_server_is_down_the_nlu_is_unavailable_and_one_is_still_asked_per_message(servers, clock):
    parser = parser_for(f"{A},{B}", servers, clock)
    servers.dead.update({A, B})
    with pytest.raises(NluUnavailable, match="rasa-a.*rasa-b"):
        await parser.parse("你好")
    assert servers.asked == [A, B]

    # Both paused: one of them is still asked per message (the one back soonest), so the bot notices a server
    # coming back at its next message.
    clock.now += 1
    with pytest.raises(NluUnavailable):
        await parser.parse("你好")
    assert servers.asked == [A, B, B]
    servers.dead.clear()
    assert (await parser.parse("你好"))["intent"]["name"] == A
    await parser.close()


async def test_a_lone_server_is_asked_for_every_message_as_before(servers, clock):
    parser = parser_for(A, servers, clock)
    servers.dead.add(A)
    for _ in range(3):
        with pytest.raises(NluUnavailable):
            await parser.parse("你好")
    assert servers.asked == [A, A, A]
    servers.dead.clear()
    assert (await parser.parse("你好"))["intent"]["name"] == A
    await parser.close()


async def test_a_refusal_of_the_request_itself_is_not_taken_for_a_dead_server(clock):
    asked: list[str] = []

    def unauthorised(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url.host))
        return httpx.Response(401, request=request)

    parser = RasaParser(f"{A},{B}", 2.0, "wrong", transport=httpx.MockTransport(unauthorised), clock=clock)
    with pytest.raises(NluUnavailable, match="401"):
        await parser.parse("你好")
    assert asked == ["rasa-a"]
    await parser.close()


async def test_ready_when_any_server_has_its_model(servers, clock):
    parser = parser_for(f"{A},{B}", servers, clock)
    servers.dead.add(A)
    assert await parser.ready()
    servers.dead.add(B)
    assert not await parser.ready()
    await parser.close()


def test_rasa_url_lists_servers_separated_by_commas(monkeypatch):
    monkeypatch.setenv("RASA_URL", " http://10.0.0.5:5005/ , http://10.0.0.6:5005")
    assert Settings().rasa_urls == ["http://10.0.0.5:5005", "http://10.0.0.6:5005"]
    assert Settings(rasa_url="http://127.0.0.1:5005").rasa_urls == ["http://127.0.0.1:5005"]
    for wrong in ("", " , ", "10.0.0.5:5005", "http://a:5005,ftp://b"):
        with pytest.raises(ValidationError):
            Settings(rasa_url=wrong)


class Router:
    """The topic router's double: one topic for every text, counting its calls."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def classify_many(self, texts: list[str]) -> list[tuple[str, float]]:
        self.calls.append(list(texts))
        return [("城乡建设", 0.9)] * len(texts)


async def test_the_topic_is_read_only_when_a_flow_asks_for_it_and_then_once(servers, clock):
    """A menu digit or 确认 never costs the router a call; a report's text costs one, for its topic and its
    clauses together."""
    router = Router()
    understanding = Understanding(parser_for(A, servers, clock), router)  # type: ignore[arg-type]
    result = await understanding.understand("路灯坏了。公交站也没了")
    assert not result.topic_read and router.calls == []
    assert (result.topic, result.topic_confidence) == ("城乡建设", 0.9)
    assert result.problems == ()  # one topic for every clause: one problem
    assert result.topic_read and router.calls == [["路灯坏了。公交站也没了", "路灯坏了", "公交站也没了"]]
    assert result.as_contract()["topic"] == "城乡建设" and len(router.calls) == 1
    servers.dead.add(A)
    unparsed = await understanding.understand("确认")
    assert unparsed.source == "none" and not unparsed.topic_read
    assert TopicReading().topic == "其他"
