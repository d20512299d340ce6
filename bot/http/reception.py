"""The reception API for staff and deputies: sessions and slots, bookings, closing a session, naming its
deputies, the outcome of a booking. Each request carries a user's token (liaison user add)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bot.http.deps import current_actor
from bot.http.deps import runtime as services
from bot.runtime import Runtime
from casework.actors import Actor
from casework.deadlines import LOCAL
from casework.errors import Forbidden
from services import reception
from texts import staff as texts

router = APIRouter(prefix="/api/reception", tags=["reception"])


async def reception_actor(actor: Actor = Depends(current_actor)) -> Actor:
    """Staff, admins and deputies (with their deputy's code); others are refused."""
    if actor.role not in reception.RECEPTION_ROLES:
        raise Forbidden(texts.RECEPTION_ROLES_ONLY)
    return actor


def first_day(
    day: dt.date | None = Query(
        None,
        alias="from",
        description="first local day, default today",
        ge=dt.date(2000, 1, 1),
        le=dt.date(2100, 12, 31),
    ),
) -> dt.date:
    return day or dt.datetime.now(LOCAL).date()


class CloseSession(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class SessionDeputies(BaseModel):
    deputies: list[str] = Field(min_length=1, description="deputy codes (config.yml)")


class Outcome(BaseModel):
    outcome: Literal["attended", "absent", "answered", "case"]
    answer: str = Field(default="", max_length=5000, description="the answer given (answered), or a note")
    deputy: str | None = Field(default=None, description="the deputy who received the citizen (staff only)")
    topic: str | None = Field(
        default=None, max_length=40, description="the case's topic (case); guessed from the text if omitted"
    )
    place: str | None = Field(
        default=None, max_length=300, description="where the problem is (case); default: the station"
    )


@router.get("/sessions")
async def sessions(
    first: dt.date = Depends(first_day),
    days: int = Query(14, ge=1, le=90),
    _: Actor = Depends(reception_actor),
    services: Runtime = Depends(services),
) -> list[dict]:
    """Reception sessions with their slots (places booked of capacity) and deputies on duty."""
    async with services.sessionmaker() as session:
        return await reception.list_sessions(
            session, services.deployment, services.calendar, first, days, dt.datetime.now(dt.UTC)
        )


@router.get("/bookings")
async def bookings(
    first: dt.date = Depends(first_day),
    days: int = Query(1, ge=1, le=90),
    session_key: str | None = Query(None, alias="session"),
    all: bool = False,
    actor: Actor = Depends(reception_actor),
    services: Runtime = Depends(services),
) -> list[dict]:
    """Bookings of a day (or several, or one session); a deputy sees the sessions they are on duty for."""
    async with services.sessionmaker() as session:
        return await reception.list_bookings(session, first, days, key=session_key, viewer=actor, all_statuses=all)


@router.post("/sessions/{key}/close")
async def close_session(
    key: str, body: CloseSession, actor: Actor = Depends(reception_actor), services: Runtime = Depends(services)
) -> JSONResponse:
    """Close a session with a reason: its booked citizens and deputies are told (staff only)."""
    return await _run(services, actor, "close", key=key, reason=body.reason)


@router.post("/sessions/{key}/deputies")
async def set_deputies(
    key: str, body: SessionDeputies, actor: Actor = Depends(reception_actor), services: Runtime = Depends(services)
) -> JSONResponse:
    """Name the deputies on duty at a session (staff only)."""
    return await _run(services, actor, "deputies", key=key, deputies=body.deputies)


@router.post("/bookings/{number}/outcome")
async def record_outcome(
    number: str, body: Outcome, actor: Actor = Depends(reception_actor), services: Runtime = Depends(services)
) -> JSONResponse:
    """After the session, what came of a booking: attended, absent, answered (with the answer) or case."""
    return await _run(
        services,
        actor,
        "outcome",
        number=number,
        outcome=body.outcome,
        answer=body.answer,
        deputy=body.deputy,
        topic=body.topic,
        place=body.place,
    )


async def _run(services: Runtime, actor: Actor, operation: str, **fields: object) -> JSONResponse:
    topics = services.dispatcher.understanding.topics
    async with services.sessionmaker() as session:  # a refusal leaves it rolled back
        done = await reception.perform(
            session,
            services.deployment,
            services.calendar,
            actor,
            operation,
            dt.datetime.now(dt.UTC),
            guess_topic=lambda text: topics.classify(text)[0],
            **fields,
        )
    return JSONResponse(done)
