"""Messages per second through POST /wechat in safe mode against the same messages through
POST /api/messages, in one run, and their ratio: what the WeChat door (signature, AES, safe XML,
the passive answer encrypted) costs on top of the bot's own work.

Starts its own Rasa server and `liaison serve` (SQLite in a temporary directory, real Redis when
REDIS_URL is set, embedded otherwise). Each citizen reports a problem and answers the bot's
questions (4 messages), sequentially and with several citizens at once; the WeChat requests are
signed and encrypted as WeChat's servers do it (wechatpy's WeChatCrypto), before the clock starts.

    .venv/bin/python -m bench.wechat [--messages 200] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import os
import secrets
import time

import httpx
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bench.roundtrip import FLOW_REPLIES, _concurrently, corpus, free_port, serving, summarise
from nlu import project
from nlu.server import RasaProcess

TOKEN, APP_ID, ACCOUNT = "bench-token", "wxbench000000001", "gh_bench"
AES_KEY = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
TEXT = (
    "<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
    "<CreateTime>{time}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
    "<MsgId>{msg_id}</MsgId></xml>"
)


class WeChatSide:
    """Builds what WeChat's servers send and reads the passive answer."""

    def __init__(self) -> None:
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
        self.ids = itertools.count(int(time.time() * 1000) * 1000)

    def request(self, openid: str, text: str) -> tuple[dict[str, str], bytes]:
        timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
        signer = WeChatSigner()
        signer.add_data(TOKEN, timestamp, nonce)
        xml = TEXT.format(account=ACCOUNT, openid=openid, time=timestamp, content=text, msg_id=next(self.ids))
        sealed = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        body = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>"
        )
        return (
            {
                "signature": signer.signature,
                "timestamp": timestamp,
                "nonce": nonce,
                "openid": openid,
                "encrypt_type": "aes",
                "msg_signature": sealed["MsgSignature"],
            },
            body.encode(),
        )

    def answer(self, response: httpx.Response) -> str:
        response.raise_for_status()
        if response.text == "success":
            return ""
        sealed = xmltodict.parse(response.text)["xml"]
        plain = self.crypto.decrypt_message(response.text, sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"])
        return xmltodict.parse(plain)["xml"]["Content"]


async def run_side(app_url: str, texts: list[str], concurrency: int, door: str) -> tuple[dict, dict, int]:
    """Each citizen sends a report and answers the bot's questions; returns sequential, concurrent, empty answers."""
    wechat = WeChatSide()
    empty = 0

    async def send(client: httpx.AsyncClient, user: str, text: str) -> float:
        nonlocal empty
        if door == "wechat":
            params, body = wechat.request(user, text)
            started = time.perf_counter()
            response = await client.post(f"{app_url}/wechat", params=params, content=body)
            elapsed = time.perf_counter() - started
            empty += wechat.answer(response) == ""
            return elapsed
        started = time.perf_counter()
        response = await client.post(
            f"{app_url}/api/messages", json={"channel": "bench", "user_id": user, "text": text}
        )
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed

    async def citizen(client: httpx.AsyncClient, user: str, text: str) -> list[float]:
        return [await send(client, user, t) for t in (text, *FLOW_REPLIES)]

    citizens = max(1, len(texts) // 4)
    run = f"{door[0]}{int(time.time())}"
    label = "POST /wechat, safe mode" if door == "wechat" else "POST /api/messages"
    async with httpx.AsyncClient(timeout=60) as client:
        await send(client, f"warm-{run}", "你好")
        started = time.perf_counter()
        sequential = [lat for i in range(citizens) for lat in await citizen(client, f"s{run}-{i}", texts[i])]
        seq = summarise(f"{label}, sequential", sequential, time.perf_counter() - started)
        started = time.perf_counter()
        nested = await _concurrently(
            [lambda i=i: citizen(client, f"c{run}-{i}", texts[i]) for i in range(citizens)], concurrency
        )
        con = summarise(
            f"{label}, {concurrency} citizens at once",
            [lat for group in nested for lat in group],
            time.perf_counter() - started,
        )
    return seq, con, empty


def serve_and_run(rasa: RasaProcess, texts: list[str], concurrency: int, door: str) -> tuple[dict, dict, int]:
    with serving(
        rasa.url,
        RASA_TOKEN=rasa.token,
        WECHAT_TOKEN=TOKEN,
        WECHAT_AES_KEY=AES_KEY,
        WECHAT_APP_ID=APP_ID,
        WECHAT_SAFE_MODE="true",
    ) as served:
        return asyncio.run(run_side(served.url, texts, concurrency, door))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    texts = corpus(args.messages)
    model, _ = project.train()
    results = {}
    with RasaProcess(free_port(), model=model) as rasa:
        # Each door on a fresh app and database, so neither pays for the cases the other registered.
        for door in ("api", "wechat"):
            results[door] = serve_and_run(rasa, texts, args.concurrency, door)
    (api_seq, api_con, _), (wx_seq, wx_con, empty) = results["api"], results["wechat"]
    print("| measurement | messages | median ms | p90 ms | messages/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in (api_seq, wx_seq, api_con, wx_con):
        print(f"| {row['name']} | {row['n']} | {row['median_ms']:.1f} | {row['p90_ms']:.1f} | {row['per_s']:.1f} |")
    ratio_seq, ratio_con = wx_seq["per_s"] / api_seq["per_s"], wx_con["per_s"] / api_con["per_s"]
    print(
        f"\nthroughput ratio, /wechat (safe mode) / /api/messages: sequential {ratio_seq:.2f}, "
        f"{args.concurrency} at once {ratio_con:.2f}"
    )
    print(f"passive answers missed (empty answer, reply sent later): {empty}")
    print(f"database: SQLite; Redis: {os.environ.get('REDIS_URL', 'embedded')}")


if __name__ == "__main__":
    main()
