"""Citizens talking through each door and reading the bot's answer wherever it arrives: WeChat's passive
answer or a customer-service message (the recorder), Telegram's sendMessage (the recorder), the JSON answer
of /api/messages. Used to set up the victims of the corpus and to drive report flows."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from bench.faultkit import channels
from bench.faultkit.recorder import Recorder
from bench.faultkit.stack import Stack

CASE_NUMBER = re.compile(r"编号\s*([A-Z]{1,4}\d{11,})")
Say = Callable[[str], Awaitable[str]]


@dataclass
class Doors:
    stack: Stack
    recorder: Recorder
    client: httpx.AsyncClient
    wechat: channels.WeChat
    telegram: channels.Telegram

    @property
    def key(self) -> str:
        return self.stack.credentials.api_key

    async def post_wechat(self, query: channels.Query, body: bytes, **kw: object) -> httpx.Response:
        return await self.client.post(
            "/wechat",
            params=query,
            content=body,
            headers={"content-type": "text/xml"},
            **kw,  # type: ignore[arg-type]
        )

    async def wechat_say(self, openid: str, text: str, *, encrypted: bool = True, msg_id: str | None = None) -> str:
        sent = time.time()
        build = self.wechat.encrypted if encrypted else self.wechat.plain
        response = await self.post_wechat(*build(openid, text, msg_id))
        return self.wechat.read(response) or await self.pushed_wechat(openid, sent)

    async def pushed_wechat(self, openid: str, since: float, wait: float = 20) -> str:
        """The first customer-service message to `openid` after `since` (a reply that missed the budget)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            for at, user, content in self.recorder.wechat_texts():
                if user == openid and at >= since:
                    return content
            await asyncio.sleep(0.2)
        return ""

    async def telegram_say(self, chat_id: int, text: str) -> str:
        sent = time.time()
        response = await self.client.post(
            "/telegram", json=self.telegram.update(chat_id, text), headers=self.telegram.headers()
        )
        if response.status_code != 200:
            return ""
        # The webhook sends its replies before it answers: they are in the recorder now.
        return "\n\n".join(t for at, chat, t in self.recorder.telegram_texts() if chat == str(chat_id) and at >= sent)

    async def api_say(self, user_id: str, text: str, message_id: str | None = None) -> str:
        response = await self.client.post(
            "/api/messages",
            json=channels.api_message(user_id, text, message_id),
            headers=channels.api_headers(self.key),
        )
        return channels.api_replies(response) if response.status_code == 200 else ""


async def report(say: Say, problem: str, place: str, phone: str | None = None) -> str | None:
    """Report a problem through `say`, answering the bot's questions; the case number, or None."""
    reply = await say(problem)
    for _ in range(8):
        found = CASE_NUMBER.search(reply)
        if "已受理" in reply and found:
            return found.group(1)
        if "请说说您遇到的问题" in reply:
            reply = await say(problem)
        elif "在哪里" in reply:
            reply = await say(place)
        elif "是否同意" in reply or "请回复 1、2 或 3" in reply:
            reply = await say(phone or "2")
        elif "手机号" in reply:
            reply = await say(phone or "不留")
        elif "请核对" in reply or "回复“确认”" in reply:
            reply = await say("确认")
        else:
            # Not understood as a report (or an unexpected answer): start from the menu's choice.
            reply = await say("反映问题")
    return None
