"""The short exchanges: greeting, help, thanks, goodbye, out of scope, a person, and the menu."""

from __future__ import annotations

import re

from casework.deadlines import LOCAL
from handlers.turn import Turn
from services import conversations
from texts import citizen as texts

HELP = re.compile(r"^(帮助|菜单|help|功能|你能做什么|能做什么|怎么用)[?？。!！\s]*$", re.I)


def _station(turn: Turn) -> dict[str, str]:
    station = turn.deployment.main_station
    return {"station": station.name, "address": station.address, "hours": station.hours, "phone": station.phone}


async def greet(turn: Turn) -> None:
    turn.say(texts.WELCOME.format(**_station(turn)), "反映问题", "查询进度", "联络站")


async def help_(turn: Turn) -> None:
    example = f"{turn.deployment.case_prefix}{turn.now.astimezone(LOCAL):%Y%m%d}001"
    turn.say(texts.HELP.format(example=example, **_station(turn)))


async def station_info(turn: Turn) -> None:
    turn.say(texts.STATION_INFO.format(**_station(turn)))


async def thank(turn: Turn) -> None:
    turn.say(texts.THANKS)


async def goodbye(turn: Turn) -> None:
    turn.say(texts.GOODBYE)


async def out_of_scope(turn: Turn) -> None:
    turn.say(texts.OUT_OF_SCOPE)


async def fallback(turn: Turn) -> None:
    turn.say(texts.FALLBACK, "1", "2", "3", "4", "5")


async def affirm(turn: Turn) -> None:
    turn.say(texts.AFFIRM_OUT_OF_FLOW)


async def deputies(turn: Turn) -> None:
    lines = "\n".join(f"· {d.name}（{d.level}人大代表，{d.constituency}）" for d in turn.deployment.deputies)
    turn.say(texts.DEPUTIES.format(lines=lines))


async def request_human(turn: Turn) -> None:
    """Recorded for staff; the citizen is told by when a person will answer."""
    answer_by = await conversations.request_human(turn.session, turn.calendar, turn.party, turn.message_id, turn.now)
    local = answer_by.astimezone(LOCAL)
    turn.say(texts.HUMAN.format(answer_by=f"{local.month}月{local.day}日 {local:%H:%M}"))
