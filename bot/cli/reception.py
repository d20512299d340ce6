"""`liaison reception slots|bookings|close-session|set-deputies|outcome`, and the JSON the reception API
returns: sessions with their slots, bookings. Phone numbers are masked unless the viewer may see them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.cases import actor_named
from casework.bookings import OUTCOMES, Refused, slot_label
from casework.deadlines import LOCAL
from casework.lists import mask_phone
from casework.rota import KIND_LABELS
from casework.workdays import WorkingCalendar
from services import access, reception
from services.records import Actor
from settings import Deployment, Settings
from storage.models import Booking, ReceptionSession, utcnow
from storage.reception import ReceptionStore

STATUS_LABELS = {"booked": "已预约", "cancelled": "已取消", "moved": "已改约", "closed": "接待取消"}


def session_json(row: ReceptionSession, names: reception.Directory) -> dict[str, Any]:
    return {"key": row.key, "kind": row.kind, "kind_label": KIND_LABELS.get(row.kind, row.kind),
            "station": names.stations.get(row.station_id, ("",))[0], "day": row.day.isoformat(),
            "starts_at": row.starts_at.isoformat(), "ends_at": row.ends_at.isoformat(),
            "deputies": [{"code": c, "name": names.deputy_names.get(c, c)} for c in row.deputies],
            "closed": row.closed, "close_reason": row.close_reason, "changed_by": row.changed_by,
            "slots": [{"id": s.id, "starts_at": s.starts_at.isoformat(), "ends_at": s.ends_at.isoformat(),
                       "capacity": s.capacity, "booked": s.booked} for s in row.slots]}


def booking_json(booking: Booking, row: ReceptionSession, show_phone: bool) -> dict[str, Any]:
    slot = next(s for s in row.slots if s.id == booking.slot_id)
    return {"number": booking.number, "session": row.key, "slot": slot_label(slot.starts_at, slot.ends_at),
            "starts_at": slot.starts_at.isoformat(), "status": booking.status,
            "status_label": STATUS_LABELS.get(booking.status, booking.status), "topic": booking.topic,
            "phone": booking.phone if show_phone else (mask_phone(booking.phone) if booking.phone else None),
            "created_at": booking.created_at.isoformat(), "cancel_reason": booking.cancel_reason,
            "outcome": booking.outcome, "outcome_label": OUTCOMES.get(booking.outcome or ""),
            "outcome_note": booking.outcome_note, "received_by": booking.received_by,
            "case_id": booking.case_id}


async def load_sessions(session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar,
                        first: dt.date, days: int) -> list[dict[str, Any]]:
    """Sessions from `first` for `days` days with their slots (made from the rota first, if missing)."""
    await reception.ensure_sessions(session, deployment, calendar, utcnow())
    names = await reception.directory(session, deployment)
    rows = await ReceptionStore(session).sessions_between(first, first + dt.timedelta(days=days - 1))
    return [session_json(r, names) for r in rows]


async def load_bookings(session: AsyncSession, first: dt.date, days: int, *, key: str | None = None,
                        viewer: Actor | None = None, all_statuses: bool = False) -> list[dict[str, Any]]:
    """Bookings of the sessions from `first` for `days` days (or of the session `key`). A deputy sees the
    sessions they are on duty for, with phone numbers; staff see all; the CLI (no viewer) sees masked phones."""
    store = ReceptionStore(session)
    if key is not None:
        one = await store.session_by_key(key)
        rows = [one] if one else []
    else:
        rows = list(await store.sessions_between(first, first + dt.timedelta(days=days - 1)))
    rows = [r for r in rows if access.may_see_session_bookings(viewer, r.deputies)]
    by_id = {r.id: r for r in rows}
    statuses = ("booked", "cancelled", "moved", "closed") if all_statuses else ("booked",)
    show = access.sees_booking_contacts(viewer)
    return [booking_json(b, by_id[b.session_id], show)
            for b in await store.bookings_of_sessions(list(by_id), statuses)]


# The CLI

async def _open(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.runtime import Runtime

    return await Runtime.start(settings)


async def slots_command(settings: Settings, first: dt.date | None, days: int, as_json: bool) -> str:
    services = await _open(settings)
    try:
        start = first or dt.datetime.now(LOCAL).date()
        async with services.sessionmaker() as session:
            found = await load_sessions(session, services.deployment, services.calendar, start, days)
    finally:
        await services.close()
    if as_json:
        return json.dumps(found, ensure_ascii=False, indent=2)
    if not found:
        return "（这段时间没有接待场次）"
    lines = []
    for s in found:
        names = "、".join(d["name"] for d in s["deputies"])
        state = f"已关闭：{s['close_reason']}" if s["closed"] else \
            "名额 " + " ".join(f"{dt.datetime.fromisoformat(x['starts_at']).astimezone(LOCAL):%H:%M}"
                             f"({x['booked']}/{x['capacity']})" for x in s["slots"])
        lines.append(f"{s['key']}  {s['kind_label']}  {names}  {state}")
    return "\n".join(lines)


async def bookings_command(settings: Settings, first: dt.date | None, days: int, key: str | None,
                           as_json: bool) -> str:
    services = await _open(settings)
    try:
        start = first or dt.datetime.now(LOCAL).date()
        async with services.sessionmaker() as session:
            found = await load_bookings(session, start, days, key=key, all_statuses=True)
    finally:
        await services.close()
    if as_json:
        return json.dumps(found, ensure_ascii=False, indent=2)
    if not found:
        return "（暂无预约）"
    return "\n".join(f"{b['number']}  {b['slot']}  {b['status_label']}  {b['outcome_label'] or '-'}  "
                     f"{b['phone'] or '-'}  {' '.join(b['topic'].split())[:30]}" for b in found)


async def act_as(settings: Settings, user_name: str, operation: str, **fields: Any) -> tuple[bool, str]:
    """Run one staff or deputy operation as the user named; (done, what to print)."""
    services = await _open(settings)
    try:
        async with services.sessionmaker() as session:
            actor = await actor_named(session, user_name)
            if isinstance(actor, str):
                return False, actor
            try:
                return True, (await run_operation(services, session, actor, operation, **fields))["detail"]
            except Refused as exc:
                await session.rollback()
                return False, exc.message
    finally:
        await services.close()


async def run_operation(services: Any, session: AsyncSession, actor: Actor, operation: str,
                        **fields: Any) -> dict[str, Any]:
    """close | deputies | outcome, as `actor`; what was done, with "detail" the line to show. Raises Refused."""
    deployment, now = services.deployment, utcnow()
    if operation == "close":
        told = await reception.close_session(session, deployment, fields["key"], fields["reason"], actor, now)
        return {"session": fields["key"], "closed": True, "citizens_told": told,
                "detail": f"接待 {fields['key']} 已关闭，已通知 {told} 位预约群众。"}
    if operation == "deputies":
        row = await reception.set_deputies(session, deployment, fields["key"], fields["deputies"], actor, now)
        return {"session": row.key, "deputies": list(row.deputies),
                "detail": f"接待 {row.key} 的值班代表：{'、'.join(row.deputies)}。"}
    topic = fields.get("topic")
    if not topic:
        booked = await ReceptionStore(session).booking_by_number(fields["number"])
        text = f"{booked.topic if booked else ''} {fields.get('answer') or ''}"
        topic = services.dispatcher.understanding.topics.classify(text)[0]
    booking, case = await reception.record_outcome(session, deployment, services.calendar, fields["number"],
                                                   fields["outcome"], actor, now, deputy_code=fields.get("deputy"),
                                                   answer=fields.get("answer") or "", topic=topic)
    done = f"预约 {booking.number}：{OUTCOMES[booking.outcome or '']}"
    return {"number": booking.number, "outcome": booking.outcome, "received_by": booking.received_by,
            "case_no": case.number if case else None,
            "detail": done + (f"，已登记为案件 {case.number}" if case else "") + "。"}
