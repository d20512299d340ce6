"""Channel events (WeChat): following and unfollowing the account, menu taps, QR-code scenes.

    subscribe ──────────────► the greeting and the menu
    subscribe / SCAN with the scene deputy:<code> ──► "您正在联系 X 代表…"; their reports follow that deputy
    CLICK <menu key> ────────► the flow of that menu item (report, progress, booking, station)
    unsubscribe ─────────────► recorded (no more pushes); no reply
    VIEW, location reports, delivery receipts ──► no reply
    anything else ───────────► a short polite answer

The menu keys are the ones `config.yml` may give its menu items (settings.deployment.MenuKey).
"""

from __future__ import annotations

from handlers import booking, progress, report, smalltalk
from handlers.turn import Turn
from services.conversations import Subscriptions
from texts import citizen as texts

MENU_FLOWS = {
    "report": report.start,
    "progress": progress.ask_progress,
    "booking": booking.start,
    "station": smalltalk.station_info,
}
# Events that tell the station something but want no answer (an answer to them would be noise or refused).
SILENT = frozenset(
    {
        "unsubscribe",
        "view",
        "view_miniprogram",
        "location",
        "templatesendjobfinish",
        "masssendjobfinish",
        "subscribe_msg_popup_event",
        "subscribe_msg_change_event",
        "subscribe_msg_sent_event",
    }
)
DEPUTY_SCENE = "deputy:"


async def handle(turn: Turn, subscriptions: Subscriptions) -> str:
    """Answer one event; return the inbound message's status."""
    inbound = turn.inbound
    event, key = inbound.event, inbound.event_key
    if event == "unsubscribe":
        await subscriptions.unfollowed(inbound.channel, inbound.user_id)
        return "handled"
    if event == "subscribe":
        await subscriptions.followed(inbound.channel, inbound.user_id)
        await welcome(turn, key)
        return "handled"
    if event == "scan":
        await welcome(turn, key)
        return "handled"
    if event == "click":
        flow = MENU_FLOWS.get(key)
        if flow is None:
            turn.say(texts.EVENT_OTHER)
            return "unsupported"
        await flow(turn)
        return "handled"
    if event in SILENT:
        return "handled"
    turn.say(texts.EVENT_OTHER)
    return "unsupported"


async def welcome(turn: Turn, scene: str) -> None:
    """The greeting; through a deputy's QR code, the greeting of that deputy, who then follows the reports."""
    deputy = turn.deployment.deputy(scene.removeprefix(DEPUTY_SCENE)) if scene.startswith(DEPUTY_SCENE) else None
    if deputy is None:
        await smalltalk.greet(turn)
        return
    turn.state.deputy_code = deputy.code
    turn.say(
        texts.DEPUTY_WELCOME.format(
            name=deputy.name,
            level=deputy.level,
            constituency=deputy.constituency,
            station=turn.deployment.main_station.name,
        ),
        "反映问题",
        "查询进度",
        "联络站",
    )
