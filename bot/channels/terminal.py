"""`liaison chat`: talk to the bot as a citizen in the terminal, through the same dispatcher."""

from __future__ import annotations

import asyncio
import getpass
import io
import sys

from bot.runtime import Runtime
from casework.errors import InvalidInput
from services.conversations import Inbound
from settings import Settings

HELP = "（输入文字和机器人对话；/photo 文件名 发照片；/location 纬度,经度 地名 发位置；/quit 退出）"


def parse_line(line: str, user_id: str) -> Inbound | None:
    """A typed line as an inbound message; None for an empty line."""
    line = line.strip()
    if not line:
        return None
    if line.startswith("/photo"):
        return Inbound(
            channel="terminal",
            user_id=user_id,
            kind="image",
            media_ref=line.removeprefix("/photo").strip() or "terminal-photo",
        )
    if line.startswith("/location"):
        coords, _, label = line.removeprefix("/location").strip().partition(" ")
        lat, _, lon = coords.partition(",")
        try:
            return Inbound(
                channel="terminal",
                user_id=user_id,
                kind="location",
                latitude=float(lat),
                longitude=float(lon),
                label=label.strip(),
            )
        except (ValueError, InvalidInput):  # not numbers, or off the globe: taken as text
            return Inbound(channel="terminal", user_id=user_id, text=line)
    return Inbound(channel="terminal", user_id=user_id, text=line)


async def chat(settings: Settings, user_id: str | None) -> None:
    # A terminal or a pipe may carry bytes that are not UTF-8: they become U+FFFD instead of ending the chat.
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="replace")
    services = await Runtime.start(settings)
    user = user_id or f"terminal-{getpass.getuser()}"
    print(f"已连接 {services.deployment.main_station.name}。{HELP}")
    if not await services.rasa.ready():
        print(f"（提示：NLU 服务 {settings.rasa_url} 未就绪，机器人会先用菜单回答。先运行 make run 可获得完整体验。）")
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, _read_line)
            if line is None or line.strip() in ("/quit", "/exit"):
                break
            inbound = parse_line(line, user)
            if inbound is None:
                continue
            for reply in await services.dispatcher.handle(inbound):
                buttons = f"\n  [{' | '.join(reply.buttons)}]" if reply.buttons else ""
                print(f"联络站> {reply.text}{buttons}\n")
    finally:
        await services.close()


def _read_line() -> str | None:
    try:
        return input("我> ")
    except EOFError:
        return None
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return None
