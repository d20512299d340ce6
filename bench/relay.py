"""The floor of a round trip: a web process with the bot's HTTP stack (uvicorn with uvloop and httptools,
FastAPI) and the bot's Rasa client (`nlu.client.RasaParser`) that does nothing but relay a text to Rasa and its
parse back. `bench.roundtrip` measures it beside the bare parse and the bot: what a message costs before the bot
stores, understands or answers anything.

    RASA_URL=http://127.0.0.1:5005 .venv/bin/python -m uvicorn bench.relay:app --port 8010
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from nlu.client import RasaParser
from settings import get_settings


class Text(BaseModel):
    text: str


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    app.state.rasa = RasaParser(settings.rasa_urls, settings.rasa_timeout, settings.rasa_token)
    try:
        yield
    finally:
        await app.state.rasa.close()


app = FastAPI(lifespan=lifespan)


@app.post("/parse")
async def relay(body: Text) -> dict[str, Any]:
    return await app.state.rasa.parse(body.text)
