"""The hostile corpus: requests an attacker, a broken client or a careless integration sends to each door,
each with the class of answer it must get (refused: 4xx; accepted: 2xx).

Every forged or refused request that carries a message carries a marker of its own (FORGED-<run>-<n>) or
comes from a user id only forged requests use; afterwards the store is searched for them: any such message
stored is counted as stored from a forged request. Legitimate requests that must be kept (a 10,000-character
message, text with NUL or lone surrogates cleaned, emoji, reused message ids) are looked up and must be
stored whole. Victims (a WeChat, a Telegram and a web citizen, each with a case and a phone number) are set
up first, so impersonation and replays have something to steal.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from wechatpy.crypto import WeChatCrypto

from bench.faultkit import channels, dialogues
from bench.faultkit.citizens import Doors, report
from bench.faultkit.store import Snapshot, Store, as_stored

REFUSED, ACCEPTED = "refused", "accepted"
VICTIM_NAME = "王小明"
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "lol">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]><xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&j; {marker}</Content><MsgId>1</MsgId></xml>"
)


@dataclass
class Probe:
    name: str
    door: str
    expect: str
    status: int | None = None
    error: str = ""
    marker: str | None = None
    forged_user: tuple[str, str] | None = None
    # A legitimate message that must be in the store: (channel, user id, external id or None, text as stored or None).
    keep: tuple[str, str, str | None, str | None] | None = None
    requests: int = 1
    findings: list[str] = field(default_factory=list)

    @property
    def answered_as_expected(self) -> bool:
        if self.status is None:
            return False
        return (400 <= self.status < 500) if self.expect == REFUSED else (200 <= self.status < 300)


@dataclass
class CorpusResult:
    requests: int
    probes: list[dict[str, Any]]
    fivexx: int
    unexpected: int
    stored_from_forged: int
    lost: int
    duplicates: int
    leaks: int
    notes: list[str]


class Corpus:
    def __init__(self, doors: Doors, run: str) -> None:
        self.doors = doors
        self.run = run
        self.probes: list[Probe] = []
        self._markers = 0
        self.marker_pattern = re.compile(rf"FORGED-{run}-\d{{3}}")
        self.notes: list[str] = []
        # Victims and what they own.
        self.wx_victim = f"oVictim{run}wx"
        self.tg_victim = 700_000_000 + int(run, 16) % 10**8
        self.web_victim = f"victim-{run}"
        self.cases: dict[str, str | None] = {}
        self.phone = "13912345678"
        self.retried: list[tuple[str, str, str]] = []

    # --- sending

    def marker(self) -> str:
        self._markers += 1
        return f"FORGED-{self.run}-{self._markers:03d}"

    async def _send(self, probe: Probe, request: Awaitable[httpx.Response]) -> httpx.Response | None:
        self.probes.append(probe)
        try:
            response = await request
        except httpx.HTTPError as exc:
            probe.error = type(exc).__name__
            return None
        probe.status = response.status_code
        return response

    async def wx(
        self, name: str, expect: str, query: channels.Query, body: bytes, **probe: Any
    ) -> httpx.Response | None:
        return await self._send(Probe(name, "wechat", expect, **probe), self.doors.post_wechat(query, body))

    async def tg(
        self, name: str, expect: str, body: bytes, headers: dict[str, str] | None = None, **probe: Any
    ) -> httpx.Response | None:
        headers = {
            "content-type": "application/json",
            **(self.doors.telegram.headers() if headers is None else headers),
        }
        return await self._send(
            Probe(name, "telegram", expect, **probe), self.doors.client.post("/telegram", content=body, headers=headers)
        )

    async def api(
        self, name: str, expect: str, body: bytes | dict[str, Any], key: str | None = "", **probe: Any
    ) -> httpx.Response | None:
        headers = {"content-type": "application/json", **channels.api_headers(self.doors.key if key == "" else key)}
        # JSON escapes (\u0000, \ud800) as a client library writes them; raw bytes when the probe is the bytes.
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self._send(
            Probe(name, "api", expect, **probe),
            self.doors.client.post("/api/messages", content=content, headers=headers),
        )

    # --- the corpus

    async def run_all(self) -> None:
        await self.victims()
        await self.follower()
        await self.wechat_forged()
        await self.wechat_replayed()
        await self.wechat_xml()
        await self.wechat_inputs()
        await self.telegram()
        await self.api_doors()
        await self.reused_ids()
        await self.metrics()
        await self.terminal()

    async def victims(self) -> None:
        d = self.doors
        # The WeChat victim writes their name and number into the report, as citizens do.
        self.cases["wechat"] = await report(
            lambda t: d.wechat_say(self.wx_victim, t),
            f"我叫{VICTIM_NAME}，电话{self.phone}。{dialogues.report(9001)}",
            dialogues.place(9001),
            self.phone,
        )
        self.cases["telegram"] = await report(
            lambda t: d.telegram_say(self.tg_victim, t), dialogues.report(9002), dialogues.place(9002), self.phone
        )
        self.cases["web"] = await report(
            lambda t: d.api_say(self.web_victim, t), dialogues.report(9003), dialogues.place(9003), self.phone
        )
        missing = [door for door, number in self.cases.items() if not number]
        if missing:
            self.notes.append(f"no victim case registered through {', '.join(missing)} (the leak checks are weaker)")

    async def follower(self) -> None:
        """A neighbour reports the same problem, is offered the victim's case, follows it and asks for it
        (defect 6): neither the offer nor the answer may show the victim's name or phone number."""
        d, number = self.doors, self.cases.get("wechat")
        fan = f"oFollower{self.run}"

        async def say(name: str, text: str) -> str:
            probe = Probe(name, "wechat", ACCEPTED)
            self.probes.append(probe)
            answer = await d.wechat_say(fan, text)
            probe.status = 200 if answer else None
            probe.error = "" if answer else "no answer"
            found = [word for word in (VICTIM_NAME, self.phone) if word in answer]
            if found:
                probe.findings.append(f"shows the victim's {' and '.join(found)}")
            return answer

        reply = await say("follower: the same problem, the same place", dialogues.report(9001))
        for _ in range(4):
            if "在哪里" in reply:
                reply = await say("follower: the place", dialogues.place(9001))
            elif "是否同意" in reply:
                reply = await say("follower: no contact (the summary, with the similar case offered)", "2")
            else:
                break
        if not number or "关注" not in reply:
            self.notes.append("follower: no similar case was offered, so following it was not tried")
            return
        await say("follower: follows the victim's case (关注)", "关注")
        await say("follower: asks for the followed case (查询 <number>)", f"查询 {number}")

    async def terminal(self) -> None:
        """`liaison chat` reading a line that is not UTF-8 (defect 7); exit 0 and no traceback counts as 200.
        Under the C.UTF-8 locale Python reads stdin with surrogateescape; under a desktop's UTF-8 locale
        (en_US.UTF-8) strictly, as PYTHONIOENCODING=utf-8:strict makes it here."""
        typed = "路灯坏了".encode() + b"\xe5\n/quit\n"
        for name, env in (
            ("terminal: liaison chat reading invalid UTF-8", {}),
            ("terminal: liaison chat reading invalid UTF-8, strict UTF-8 locale", {"PYTHONIOENCODING": "utf-8:strict"}),
        ):
            probe = Probe(name, "terminal", ACCEPTED)
            self.probes.append(probe)
            code, output = await asyncio.to_thread(self.doors.stack.chat, typed, **env)
            if code == 0 and "Traceback" not in output:
                probe.status = 200
            else:
                probe.error = f"exit {code}" + (" with a traceback" if "Traceback" in output else "")

    async def wechat_forged(self) -> None:
        wx = self.doors.wechat
        attacker = f"oForged{self.run}"
        for name, query in (
            ("wechat: signature forged", {**wx.query(), "signature": "0" * 40}),
            ("wechat: signed with another token", wx.query(token="not-the-token")),
            ("wechat: no signature", {k: v for k, v in wx.query().items() if k != "signature"}),
            ("wechat: no timestamp or nonce", {"signature": wx.query()["signature"]}),
            ("wechat: timestamp=1, signed", wx.query(timestamp=1)),
            ("wechat: timestamp 10 minutes old, signed", wx.query(timestamp=int(time.time()) - 600)),
            ("wechat: timestamp 10 minutes ahead, signed", wx.query(timestamp=int(time.time()) + 600)),
            ("wechat: timestamp not a number, signed", wx.query(timestamp="1e10")),
            (
                "wechat: a signed query string 6 minutes old, as an access log keeps it",
                wx.query(int(time.time()) - 360),
            ),
        ):
            mark = self.marker()
            body = wx.text_xml(attacker, f"我的案件 {mark}", wx.msg_id()).encode()
            await self.wx(name, REFUSED, query, body, marker=mark, forged_user=("wechat", attacker))
        for name, timestamp in (
            ("wechat encrypted: timestamp=1, signed", 1),
            ("wechat encrypted: a full request captured 10 minutes ago", int(time.time()) - 600),
        ):
            mark = self.marker()
            query, body = wx.encrypted(attacker, f"我的案件 {mark}", timestamp=timestamp)
            await self.wx(name, REFUSED, query, body, marker=mark, forged_user=("wechat", attacker))
        mark = self.marker()
        query, body = wx.encrypted(attacker, f"我的案件 {mark}")
        await self.wx(
            "wechat encrypted: msg_signature forged",
            REFUSED,
            {**query, "msg_signature": "f" * 40},
            body,
            marker=mark,
            forged_user=("wechat", attacker),
        )
        mark = self.marker()
        other = WeChatCrypto(wx.token, "A" * 43, self.doors.stack.credentials.wechat_app_id)
        query, body = wx.seal(wx.text_xml(attacker, f"我的案件 {mark}", wx.msg_id()), wx.query(), crypto=other)
        await self.wx(
            "wechat encrypted: another account's AES key (msg_signature valid)",
            REFUSED,
            query,
            body,
            marker=mark,
            forged_user=("wechat", attacker),
        )
        await self.api_get_wechat_echo()

    async def api_get_wechat_echo(self) -> None:
        wx = self.doors.wechat
        for name, expect, query in (
            ("wechat GET: URL check, signed", ACCEPTED, {**wx.query(), "echostr": "faults-echo"}),
            ("wechat GET: URL check, forged", REFUSED, {**wx.query(), "signature": "1" * 40, "echostr": "x"}),
        ):
            await self._send(Probe(name, "wechat", expect), self.doors.client.get("/wechat", params=query))

    async def wechat_replayed(self) -> None:
        """Replays of query strings that WeChat really sent (defect 1), and WeChat's own retries."""
        wx, victim = self.doors.wechat, self.wx_victim
        attacker = f"oReplay{self.run}"
        first_id = wx.msg_id()
        query, body = wx.plain(victim, "你好", first_id)
        await self.wx(
            "wechat: a citizen's plaintext message", ACCEPTED, query, body, keep=("wechat", victim, first_id, "你好")
        )
        mark = self.marker()
        response = await self.wx(
            "wechat: its query string again, another body (the victim's openid, 我的案件)",
            REFUSED,
            query,
            wx.text_xml(victim, f"我的案件 {mark}", wx.msg_id()).encode(),
            marker=mark,
        )
        self._note_case_read(response, "wechat", "the replayed query string read the victim's cases")
        mark = self.marker()
        await self.wx(
            "wechat: its query string again, another openid's body",
            REFUSED,
            query,
            wx.text_xml(attacker, f"你好 {mark}", wx.msg_id()).encode(),
            marker=mark,
            forged_user=("wechat", attacker),
        )
        retry = Probe(
            "wechat: WeChat's retry (same query string, same body)",
            "wechat",
            ACCEPTED,
            keep=("wechat", victim, first_id, "你好"),
        )
        self.probes.append(retry)
        response = await self.doors.post_wechat(query, body)
        retry.status = response.status_code
        self.retried.append(("wechat", victim, first_id))

        second_id = wx.msg_id()
        query, body = wx.encrypted(victim, "谢谢", second_id)
        await self.wx(
            "wechat encrypted: a citizen's message", ACCEPTED, query, body, keep=("wechat", victim, second_id, "谢谢")
        )
        mark = self.marker()
        _, other_body = wx.seal(wx.text_xml(victim, f"我的案件 {mark}", wx.msg_id()), query)
        await self.wx(
            "wechat encrypted: its query string again, another encrypted body", REFUSED, query, other_body, marker=mark
        )
        await self.wx(
            "wechat encrypted: WeChat's retry (same query string, same body)",
            ACCEPTED,
            query,
            body,
            keep=("wechat", victim, second_id, "谢谢"),
        )
        self.retried.append(("wechat", victim, second_id))

    async def wechat_xml(self) -> None:
        wx, recorder = self.doors.wechat, self.doors.recorder.url
        attacker = f"oXml{self.run}"

        def message(content: str, prolog: str = "") -> str:
            return prolog + wx.text_xml(attacker, content, wx.msg_id()).replace("<![CDATA[" + content + "]]>", content)

        cases = [
            ("wechat: XXE, a local file", '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x; {m}"),
            ("wechat: XXE, an external URL", f'<!DOCTYPE xml [<!ENTITY x SYSTEM "{recorder}/xxe">]>', "&x; {m}"),
            ("wechat: external DTD", f'<!DOCTYPE xml SYSTEM "{recorder}/evil.dtd">', "{m}"),
            ("wechat: parameter entity", f'<!DOCTYPE xml [<!ENTITY % p SYSTEM "{recorder}/param.dtd"> %p;]>', "{m}"),
            ("wechat: internal DTD only", "<!DOCTYPE xml [<!ELEMENT xml ANY>]>", "{m}"),
            ("wechat: internal entity", '<!DOCTYPE xml [<!ENTITY e "反映">]>', "&e; {m}"),
        ]
        for name, prolog, content in cases:
            mark = self.marker()
            xml = message(content.format(m=mark), prolog)
            await self.wx(name, REFUSED, wx.query(), xml.encode(), marker=mark, forged_user=("wechat", attacker))
            mark = self.marker()
            query, body = wx.seal(message(content.format(m=mark), prolog), wx.query())
            await self.wx(name.replace("wechat:", "wechat encrypted:"), REFUSED, query, body, marker=mark)
        for encrypted in (False, True):
            mark = self.marker()
            xml = BILLION_LAUGHS.format(openid=attacker, marker=mark)
            query, body = wx.seal(xml, wx.query()) if encrypted else (wx.query(), xml.encode())
            await self.wx(
                f"wechat{' encrypted' if encrypted else ''}: entity bomb (billion laughs)",
                REFUSED,
                query,
                body,
                marker=mark,
            )
        fetched = [c.path for c in self.doors.recorder.calls() if c.path.endswith((".dtd", "/xxe"))]
        if fetched:
            self.notes.append(f"the app fetched external entities: {fetched}")
            self.probes[-1].findings.append("external entity fetched")

    async def wechat_inputs(self) -> None:
        """Sizes, malformed bodies, unusual characters and message types."""
        wx = self.doors.wechat
        user = f"oInput{self.run}"
        long_text = dialogues.long_message()
        for encrypted in (False, True):
            msg_id = wx.msg_id()
            build = wx.encrypted if encrypted else wx.plain
            query, body = build(user, long_text, msg_id)
            await self.wx(
                f"wechat{' encrypted' if encrypted else ''}: a genuine 10,000-character message "
                f"({len(body) // 1024} KB)",
                ACCEPTED,
                query,
                body,
                keep=("wechat", user, msg_id, long_text),
            )
        mark = self.marker()
        big = wx.text_xml(f"oBig{self.run}", f"{mark} " + "长" * 350_000, wx.msg_id()).encode()
        await self.wx("wechat: 1 MB body", REFUSED, wx.query(), big, marker=mark)
        mark = self.marker()
        query, body = wx.encrypted(f"oBig{self.run}", f"{mark} " + "长" * 100_000)
        await self.wx(f"wechat encrypted: {len(body) // 1024} KB body", REFUSED, query, body, marker=mark)

        bad_bodies = [
            ("wechat: truncated XML", wx.text_xml(user, "{m}", wx.msg_id())[:-20]),
            ("wechat: not XML", "路灯坏了 {m}"),
            ("wechat: root element not <xml>", wx.text_xml(user, "{m}", wx.msg_id()).replace("xml>", "msg>")),
            ("wechat: empty body", ""),
            (
                "wechat: Content given twice",
                wx.text_xml(user, "{m}", wx.msg_id()).replace("</xml>", "<Content>b</Content></xml>"),
            ),
            (
                "wechat: nested element where text belongs",
                wx.text_xml(user, "{m}", wx.msg_id()).replace("<FromUserName>", "<FromUserName><a>b</a>"),
            ),
            ("wechat: no MsgType", re.sub(r"<MsgType>.*?</MsgType>", "", wx.text_xml(user, "{m}", wx.msg_id()))),
            ("wechat: MsgId of 200 digits", wx.text_xml(user, "{m}", "9" * 200)),
            ("wechat: FromUserName of 300 characters", wx.text_xml("o" * 300, "{m}", wx.msg_id())),
            (
                "wechat: location out of range",
                wx.text_xml(user, "{m}", wx.msg_id())
                .replace("<Content>", "<Location_X>91.5</Location_X><Location_Y>200</Location_Y><Content>")
                .replace("[CDATA[text]]", "[CDATA[location]]"),
            ),
            ("wechat: NUL byte in Content", wx.text_xml(user, "路灯\x00坏了 {m}", wx.msg_id())),
            (
                "wechat: NUL as a character reference",
                wx.text_xml(user, "{m}", wx.msg_id()).replace("<![CDATA[{m}]]>", "&#0;{m}"),
            ),
            (
                "wechat: lone surrogate as a character reference",
                wx.text_xml(user, "{m}", wx.msg_id()).replace("<![CDATA[{m}]]>", "&#xD800;{m}"),
            ),
        ]
        for name, xml in bad_bodies:
            mark = self.marker()
            await self.wx(name, REFUSED, wx.query(), xml.replace("{m}", mark).encode(), marker=mark)
        for name, raw in (
            ("wechat: lone surrogate as raw bytes", b"\xed\xa0\x80"),
            ("wechat: invalid UTF-8", b"\xff\xfe\xc3("),
        ):
            mark = self.marker()
            body = wx.text_xml(user, "@@", wx.msg_id()).encode().replace(b"@@", raw + mark.encode())
            await self.wx(name, REFUSED, wx.query(), body, marker=mark)
            mark = self.marker()
            query, sealed = wx.seal(
                wx.text_xml(user, "@@", wx.msg_id()).encode().replace(b"@@", raw + mark.encode()), wx.query()
            )
            await self.wx(name.replace("wechat:", "wechat encrypted:"), REFUSED, query, sealed, marker=mark)
        mark = self.marker()
        await self.wx(
            "wechat: NUL (%00) in the query string",
            REFUSED,
            {**wx.query(), "nonce": "12\x003"},
            wx.text_xml(user, mark, wx.msg_id()).encode(),
            marker=mark,
        )

        for name, kind in (
            ("wechat: message type shortvideo", "shortvideo"),
            ("wechat: unknown message type", "hologram"),
        ):
            msg_id = wx.msg_id()
            xml = wx.text_xml(user, "", msg_id, kind=kind).replace(
                "<Content><![CDATA[]]></Content>", "<MediaId>m1</MediaId>"
            )
            await self.wx(name, ACCEPTED, wx.query(), xml.encode(), keep=("wechat", user, msg_id, None))
        follower = f"oEvent{self.run}"
        event = (
            f"<xml><ToUserName><![CDATA[{channels.ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{follower}]]>"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[weird_event]]></Event></xml>"
        )
        await self.wx(
            "wechat: unknown event", ACCEPTED, wx.query(), event.encode(), keep=("wechat", follower, None, None)
        )
        for name, text in (
            ("wechat: emoji", "楼道灯坏了😡🔦，晚上摔了一跤🤕"),
            ("wechat: rare characters (CJK extension B)", "𠀀𠀁𪚥 这几个字是我家门牌上的"),
        ):
            msg_id = wx.msg_id()
            query, body = wx.encrypted(user, text, msg_id)
            await self.wx(name, ACCEPTED, query, body, keep=("wechat", user, msg_id, text))

    async def telegram(self) -> None:
        tg = self.doors.telegram
        attacker = 600_000_000 + int(self.run, 16) % 10**8
        for name, headers in (
            ("telegram: no secret token", {}),
            ("telegram: wrong secret token", tg.headers("not-the-secret")),
            ("telegram: secret token in another case", tg.headers(tg.secret.swapcase())),
        ):
            mark = self.marker()
            body = json.dumps(tg.update(attacker, f"我的案件 {mark}")).encode()
            await self.tg(name, REFUSED, body, headers, marker=mark, forged_user=("telegram", str(attacker)))
        mark = self.marker()
        body = json.dumps(tg.update(self.tg_victim, f"我的案件 {mark}")).encode()
        response = await self.tg("telegram: forged as the victim, no secret", REFUSED, body, {}, marker=mark)
        self._note_case_read(response, "telegram", "a forged Telegram update read the victim's cases")
        for name, body in (
            ("telegram: not JSON", b"update_id=1&text=hello"),
            ("telegram: a JSON array", b"[1, 2, 3]"),
            ("telegram: no update_id", json.dumps({"message": {"text": "x"}}).encode()),
            ("telegram: update_id as a string", json.dumps({**tg.update(attacker, "x"), "update_id": "7"}).encode()),
            (
                "telegram: JSON nested 20,000 deep",
                b'{"update_id": 1, "message": ' + b'{"a":' * 20000 + b"1" + b"}" * 20001,
            ),
            ("telegram: invalid UTF-8", json.dumps(tg.update(attacker, "@@")).encode().replace(b"@@", b"\xff\xfe")),
        ):
            await self.tg(name, REFUSED, body)
        mark = self.marker()
        await self.tg(
            "telegram: 1 MB body", REFUSED, json.dumps(tg.update(attacker, mark + "长" * 350_000)).encode(), marker=mark
        )
        edited = {"update_id": tg.update_id(), "edited_message": tg.update(attacker, "改过的消息")["message"]}
        await self.tg("telegram: an edited message (not handled, acknowledged)", ACCEPTED, json.dumps(edited).encode())
        user = 500_000_000 + int(self.run, 16) % 10**8
        for name, text in (
            ("telegram: emoji", "小区门口的井盖丢了🕳️⚠️"),
            ("telegram: NUL in text", "井盖\x00丢了"),
            ("telegram: lone surrogate in text", "井盖\ud800丢了"),
        ):
            update = tg.update(user, text)
            body = json.dumps(update).encode()
            await self.tg(name, ACCEPTED, body, keep=("telegram", str(user), str(update["update_id"]), as_stored(text)))
        sticker = tg.update(user, "")
        del sticker["message"]["text"]
        sticker["message"]["sticker"] = {
            "file_id": "s1",
            "file_unique_id": "u1",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
        await self.tg(
            "telegram: a sticker",
            ACCEPTED,
            json.dumps(sticker).encode(),
            keep=("telegram", str(user), str(sticker["update_id"]), None),
        )

    async def api_doors(self) -> None:
        attacker = f"forged-{self.run}"
        for name, key in (("api: no channel key", None), ("api: wrong channel key", "not-the-key")):
            mark = self.marker()
            await self.api(
                name, REFUSED, channels.api_message(attacker, mark), key=key, marker=mark, forged_user=("web", attacker)
            )
        impersonations = [
            ("api: channel wechat, the WeChat victim's openid", "wechat", self.wx_victim, "我的案件 {m}"),
            ("api: channel telegram, the Telegram victim's chat id", "telegram", str(self.tg_victim), "我的案件 {m}"),
            (
                "api: channel telegram, withdrawing the victim's case",
                "telegram",
                str(self.tg_victim),
                f"撤回 {self.cases.get('telegram') or ''} {{m}}",
            ),
            ("api: channel wechat, a new openid", "wechat", f"oImpostor{self.run}", "你好 {m}"),
        ]
        for name, channel, user, text in impersonations:
            mark = self.marker()
            body = {"channel": channel, "user_id": user, "text": text.format(m=mark), "message_id": f"imp-{mark}"}
            response = await self.api(name, REFUSED, body, marker=mark)
            self._note_case_read(response, channel, f"impersonation through the API read the {channel} victim's cases")
        mark = self.marker()
        await self.api(
            "api: channel WeChat (upper case)",
            REFUSED,
            {"channel": "WeChat", "user_id": self.wx_victim, "text": mark},
            marker=mark,
        )
        user = f"input-{self.run}"
        for name, body in (
            ("api: malformed JSON", b'{"channel": "web", "user_id": '),
            ("api: a JSON array", b"[]"),
            ("api: invalid UTF-8", b'{"channel":"web","user_id":"x","text":"\xff\xfe"}'),
            (
                "api: JSON nested 20,000 deep",
                b'{"channel":"web","user_id":"x","text":"a","label":' + b"[" * 20000 + b"]" * 20000 + b"}",
            ),
            ("api: text of 20,001 characters", channels.api_message(user, "长" * 20001)),
            ("api: 1 MB body", channels.api_message(user, "长" * 350_000)),
            ("api: NUL in user_id", channels.api_message("u\x00ser", "你好")),
            # The API refuses what it cannot store without changing it (its client can fix and resend).
            ("api: lone surrogate in text", channels.api_message(user, "路灯\ud800坏了")),
            ("api: lone surrogate in user_id", channels.api_message("u\ud800ser", "你好")),
            ("api: unknown message type", {**channels.api_message(user, "你好"), "type": "video"}),
            ("api: text as a number", {**channels.api_message(user, "x"), "text": 12345}),
            ("api: latitude NaN", b'{"channel":"web","user_id":"x","type":"location","latitude":NaN,"longitude":1}'),
            ("api: user_id of 129 characters", channels.api_message("u" * 129, "你好")),
        ):
            await self.api(name, REFUSED, body)
        for name, text in (
            ("api: NUL in text (kept, cleaned)", "路灯\x00坏了"),
            ("api: emoji", "垃圾没人收🗑️😷"),
        ):
            message_id = f"in-{self.run}-{len(self.probes)}"
            await self.api(
                name,
                ACCEPTED,
                channels.api_message(user, text, message_id),
                keep=("web", user, message_id, as_stored(text)),
            )
        await self.api(
            "api: emoji in user_id",
            ACCEPTED,
            channels.api_message(f"市民😀{self.run}", "你好"),
            keep=("web", f"市民😀{self.run}", None, "你好"),
        )

    async def reused_ids(self) -> None:
        """Two citizens whose clients give their messages the same id (defect 3)."""
        d, wx = self.doors, self.doors.wechat
        shared = f"reuse-{self.run}"
        neighbour = f"neighbour-{self.run}"
        for user in (self.web_victim, neighbour):
            response = await self.api(
                f"api: message id reused by a second citizen ({'victim' if user == self.web_victim else 'neighbour'})",
                ACCEPTED,
                channels.api_message(user, "我的案件", shared),
                keep=("web", user, shared, "我的案件"),
            )
            if user == neighbour:
                self._check_leak(response and channels.api_replies(response), "web")
        shared_msg = wx.msg_id()
        wx_neighbour = f"oNeighbour{self.run}"
        for user in (self.wx_victim, wx_neighbour):
            sent = time.time()
            query, body = wx.encrypted(user, "我的案件", shared_msg)
            response = await self.wx(
                f"wechat: MsgId reused by a second openid ({'victim' if user == self.wx_victim else 'neighbour'})",
                ACCEPTED,
                query,
                body,
                keep=("wechat", user, shared_msg, "我的案件"),
            )
            if user == wx_neighbour and response is not None:
                self._check_leak(wx.read(response) or await d.pushed_wechat(user, sent, wait=8), "wechat")
        # A client that numbers each citizen's messages from 1: three citizens, ten messages each.
        numbered = [f"numbered-{self.run}-{i}" for i in range(3)]
        for n in range(1, 11):
            for user in numbered:
                text = dialogues.CHATTER[(n + len(user)) % len(dialogues.CHATTER)]
                await self.api(
                    f"api: message ids numbered per citizen ({user[-1]}, #{n})",
                    ACCEPTED,
                    channels.api_message(user, text, str(n)),
                    keep=("web", user, str(n), text),
                )

    async def metrics(self) -> None:
        """/metrics answers on loopback, or with its token (LIAISON_METRICS_TOKEN)."""
        client, stack = self.doors.client, self.doors.stack
        token = {"authorization": f"Bearer {stack.credentials.metrics_token}"}
        proxied = {"x-forwarded-for": "203.0.113.9"}
        await self._send(Probe("metrics: from loopback", "metrics", ACCEPTED), client.get("/metrics"))
        await self._send(
            Probe("metrics: through a local reverse proxy for an outside client (X-Forwarded-For)", "metrics", REFUSED),
            client.get("/metrics", headers=proxied),
        )
        await self._send(
            Probe("metrics: through a local reverse proxy, with the token", "metrics", ACCEPTED),
            client.get("/metrics", headers={**proxied, **token}),
        )
        if not stack.outside_url:
            self.notes.append("/metrics from outside: skipped (this machine has no non-loopback address)")
            return
        outside = f"{stack.outside_url}/metrics"
        for name, expect, headers in (
            ("metrics: from outside", REFUSED, {}),
            ("metrics: from outside, claiming loopback (X-Forwarded-For)", REFUSED, {"x-forwarded-for": "127.0.0.1"}),
            ("metrics: from outside, a wrong token", REFUSED, {"authorization": "Bearer not-the-token"}),
            ("metrics: from outside, with the token", ACCEPTED, token),
        ):
            await self._send(Probe(name, "metrics", expect), client.get(outside, headers=headers))

    # --- findings

    def _note_case_read(self, response: httpx.Response | None, door: str, finding: str) -> None:
        number = self.cases.get(door)
        if response is not None and number and number in response.text + self._answer_text(response):
            self.probes[-1].findings.append(finding)

    def _answer_text(self, response: httpx.Response) -> str:
        if response.request.url.path == "/wechat":
            return self.doors.wechat.read(response)
        return ""

    def _check_leak(self, answer: str | None, door: str) -> None:
        victim_case = self.cases.get(door)
        if answer and victim_case and victim_case in answer:
            self.probes[-1].findings.append(f"got the {door} victim's reply (case {victim_case})")

    def result(self, store: Store) -> CorpusResult:
        snapshot = Snapshot(store)
        by_marker = snapshot.marked(self.marker_pattern)
        for probe in self.probes:
            if probe.marker and by_marker.get(probe.marker):
                probe.findings.append(f"stored {by_marker[probe.marker]}×")
        # Every marked message, and anything else stored under a user id only forged requests use.
        stored_forged = sum(by_marker.values())
        for user in {p.forged_user for p in self.probes if p.forged_user}:
            stored_forged += sum(1 for m in snapshot.of_user(*user) if not self.marker_pattern.search(m.text or ""))
        lost = 0
        for probe in self.probes:
            if probe.keep is None or probe.status is None:
                continue
            channel, user, external_id, text = probe.keep
            rows = [m for m in snapshot.of_user(channel, user) if external_id is None or m.external_id == external_id]
            if text is not None and not any(m.text == text for m in rows):
                lost += 1
                cut = [len(m.text) for m in rows if m.text and text.startswith(m.text[:50])]
                probe.findings.append(
                    f"not stored whole (stored lengths {cut}, sent {len(text)})" if cut else "not stored"
                )
            elif not rows:
                lost += 1
                probe.findings.append("not stored")
        duplicates = sum(max(0, len(snapshot.delivery(*key)) - 1) for key in self.retried)
        fivexx = sum(1 for p in self.probes if p.status is not None and p.status >= 500)
        unexpected = sum(1 for p in self.probes if not p.answered_as_expected)
        leaks = sum(1 for p in self.probes for f in p.findings if "victim" in f or "external entity" in f)
        return CorpusResult(
            requests=sum(p.requests for p in self.probes),
            probes=[asdict(p) for p in self.probes],
            fivexx=fivexx,
            unexpected=unexpected,
            stored_from_forged=stored_forged,
            lost=lost,
            duplicates=duplicates,
            leaks=leaks,
            notes=self.notes,
        )
