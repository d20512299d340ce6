"""The one rendering of errors: what a caller gets back, and that it cannot fail to render."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel, Field

from bot.http import errors
from casework.errors import Ignored, InvalidInput
from casework.lifecycle import IllegalTransition


class Body(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    name: str = Field(default="", max_length=10)


@pytest.fixture
async def client():  # type: ignore[no-untyped-def]
    app = FastAPI()
    errors.install(app)

    @app.get("/refuse")
    def refuse() -> None:
        raise IllegalTransition("reason_required", "退回答复需要说明原因。")

    @app.get("/ignore")
    def ignore() -> None:
        raise Ignored(detail="an edit")

    @app.get("/limit")
    def limit(limit: int = Query(100, ge=1)) -> int:
        return limit

    @app.post("/body")
    def body(body: Body) -> str:
        raise InvalidInput("不应到这里。")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_a_refusal_is_rendered_with_its_code_status_and_message(client):
    response = await client.get("/refuse")
    assert response.status_code == 409
    assert response.json() == {
        "code": "reason_required",
        "message": "退回答复需要说明原因。",
        "detail": "退回答复需要说明原因。",
    }
    assert (await client.get("/ignore")).status_code == 200


@pytest.mark.parametrize("raw", [b'{"latitude": 1e999}', b'{"latitude": NaN}', b'{"latitude": 1, "name": "\\ud800"}'])
async def test_a_validation_error_never_echoes_what_cannot_be_rendered(client, raw):
    response = await client.post("/body", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request" and "请求参数有误" in body["message"]
    assert "input" not in json.dumps(body["errors"])


async def test_a_query_out_of_bounds_and_a_body_not_json(client):
    response = await client.get("/limit", params={"limit": "-1"})
    assert response.status_code == 422 and response.json()["message"] == "请求参数有误：limit。"
    response = await client.post("/body", content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["code"] == "malformed_json"


async def test_the_frameworks_refusals_speak_chinese(client):
    missing = await client.get("/nothing")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert missing.json()["message"] == errors.texts.NOT_FOUND
    wrong = await client.delete("/refuse")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"
