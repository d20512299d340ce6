"""NLU review: messages the NLU was unsure of or could not place, and staff corrections of intent, topic and
place (exported by `liaison nlu corrections` as candidate training data)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console.web import ConsoleRoute, checked, context, is_htmx, now, page, signed_in
from services import nlu_review
from services.signin import ConsoleSession

router = APIRouter(route_class=ConsoleRoute)


@router.get("/console/nlu", response_class=HTMLResponse)
async def review(
    request: Request, show: str = "low", page_number: int = 1, console: ConsoleSession = Depends(signed_in)
) -> Response:
    async with context(request).sessionmaker() as session:
        lines, total = await nlu_review.review_lines(session, console.actor, show, page_number)
    return page(
        request,
        "nlu.html",
        console=console,
        lines=lines,
        total=total,
        show=show,
        intents=nlu_review.intents(),
        topics=nlu_review.topics(),
    )


@router.post("/console/nlu/{message_id}")
async def correct(
    request: Request,
    message_id: int,
    intent: str = Form(max_length=40),
    topic: str = Form(default="", max_length=40),
    place: str = Form(default="", max_length=300),
    console: ConsoleSession = Depends(checked),
) -> Response:
    async with context(request).sessionmaker() as session:
        await nlu_review.correct(session, console.actor, message_id, intent, topic, place, now())
    if is_htmx(request):
        return page(request, "_saved.html")
    return RedirectResponse("/console/nlu?show=corrected", status_code=303)
