"""NLU review on both databases with real Rasa: staff see the messages the NLU was unsure of, correct intent,
topic and place, and the export writes Rasa training data that leaves out texts of the evaluation data; the
topic router learns the corrected topics."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import yaml
from sqlalchemy import select

from bot.http.app import create_app
from casework.actors import Actor
from casework.cases import Role
from casework.errors import Forbidden, InvalidInput
from nlu.topics import corrected_examples
from services import nlu_review
from storage.models import ChannelIdentity, Conversation, Message
from tests.conftest import client_for
from tests.integration.console.test_signin import add_staff, csrf_of, sign_in
from tests.integration.test_conversations import Citizen

pytestmark = pytest.mark.integration
STAFF = Actor("审核员", Role.STAFF)


@pytest.fixture
async def station(settings):
    app = create_app(settings)
    async for client in client_for(app):
        yield app, client


async def inbound(runtime, user_id: str) -> list[Message]:
    async with runtime.sessionmaker() as session:
        return list(
            (
                await session.execute(
                    select(Message)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                    .where(ChannelIdentity.external_id == user_id, Message.direction == "in")
                    .order_by(Message.id)
                )
            )
            .scalars()
            .all()
        )


async def test_staff_correct_what_the_nlu_understood_and_export_it_without_evaluation_texts(station, user_id, tmp_path):
    app, client = station
    runtime = app.state.runtime
    words = f"梧桐巷{uuid.uuid4().hex[:4]}号楼下那个窨井盖翘起来了，电动车经过咯噔一下"
    # Stands in for a sentence of the evaluation data (made up here: the real ones stay out of the project).
    evaluation_copy = f"樱桃街{uuid.uuid4().hex[:4]}号的旧厂房围墙快倒了，过路的人提心吊胆"
    await Citizen(client, user_id).say(words)
    await Citizen(client, f"{user_id}-b").say(evaluation_copy + "，请处理")
    message = (await inbound(runtime, user_id))[0]
    copied = (await inbound(runtime, f"{user_id}-b"))[0]
    assert message.intent is not None and message.topic is not None, "the inbound message keeps what the NLU said"

    place = words.split("下")[0]
    now = dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)
    async with runtime.sessionmaker() as session:
        await nlu_review.correct(session, STAFF, message.id, "report_issue", "城乡建设", place, now)
        await nlu_review.correct(session, STAFF, copied.id, "report_issue", "城乡建设", "", now)
        with pytest.raises(InvalidInput):
            await nlu_review.correct(session, STAFF, message.id, "no_such_intent", "", "", now)
        with pytest.raises(InvalidInput):
            await nlu_review.correct(session, STAFF, message.id, "report_issue", "城乡建设", "别处的地名", now)
        with pytest.raises(Forbidden):
            await nlu_review.correct(
                session, Actor("部门", Role.DEPARTMENT, department_id=1), message.id, "greet", "", "", now
            )
        corrected, _ = await nlu_review.review_lines(session, STAFF, "corrected")
        assert {line.message_id for line in corrected} >= {message.id, copied.id}

        target = tmp_path / "corrections.yml"
        written, left_out = await nlu_review.export_corrections(session, [evaluation_copy], target)
    assert written >= 1 and left_out >= 1
    exported = target.read_text(encoding="utf-8")
    assert evaluation_copy not in exported, "nothing of the evaluation data is ever exported"
    document = yaml.safe_load(exported)
    examples = {e["text"]: e for block in document["nlu"] for e in block["examples"]}
    annotated = words.replace(place, f"[{place}](place)", 1)
    assert examples[annotated]["metadata"] == {"topic": "城乡建设"}
    assert words in corrected_examples(target)["城乡建设"], "the topic router reads the corrected topic"


async def test_the_review_page_lists_and_saves_a_correction(station, user_id):
    app, client = station
    await Citizen(client, user_id).say("嗯嗯那个啥")
    name = await add_staff(app)
    assert (await sign_in(client, name)).status_code == 303
    listed = await client.get("/console/nlu", params={"show": "fallback"})
    assert listed.status_code == 200 and "理解审核" in listed.text
    message = (await inbound(app.state.runtime, user_id))[0]
    saved = await client.post(
        f"/console/nlu/{message.id}",
        data={"intent": "greet", "topic": "", "place": "", "csrf_token": csrf_of(listed.text)},
    )
    assert saved.status_code == 303
    corrected = await client.get("/console/nlu", params={"show": "corrected"})
    assert "嗯嗯那个啥" in corrected.text
