"""The processes: `liaison serve` (the web app), `liaison run` (what `make run` does: the Rasa server as a
child process and the web app), `liaison worker` (pushes and timed jobs) and `liaison chat` (the terminal).

For `liaison run` the web app starts at once; while Rasa is still loading, the bot answers with its menu and
keeps the messages. Ctrl-C stops the web app, then Rasa.

`serve` and `run` start the ASGI app of bot/http (its factory, `create_app`): launching it is what they are
for. They import it inside the command, and no other CLI module imports bot/http. The factory keeps query strings
out of uvicorn's access log (`bot.http.logs`), before uvicorn writes its first line.

`--workers N` runs N web processes on one port under uvicorn's own supervisor, which starts a new one when one
dies. Each builds its app from the environment (`bot.http.app:app_from_environment`), and they share the
database and Redis; with the embedded Redis, the supervising process starts it before them and stops it after.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import TYPE_CHECKING

import click

from bot.cli.common import load_settings

if TYPE_CHECKING:
    from nlu.server import RasaProcess
    from settings import Settings


WORKERS = click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="web processes sharing the database and Redis (a dead one is replaced)",
)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@WORKERS
def serve(host: str, port: int, workers: int) -> None:
    """Run the web app (webhooks, console, API)."""
    serve_web(load_settings(), host, port, workers, log_level="info")


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@WORKERS
def run(host: str, port: int, workers: int) -> None:
    """Start the Rasa server and the web app together (what `make run` does); Ctrl-C stops both."""
    sys.exit(run_all(load_settings(), host, port, workers))


@click.command("chat")
@click.option("--user", "user_id", default=None, help="the citizen's id on the terminal channel")
def chat(user_id: str | None) -> None:
    """Talk to the bot as a citizen in the terminal."""
    from bot.channels.terminal import chat as run_chat

    asyncio.run(run_chat(load_settings(), user_id))


@click.command("worker")
@click.option("--burst", is_flag=True, help="run every job once and exit")
def worker(burst: bool) -> None:
    """Send pushes and run the timed jobs (deadlines, reminders, closing unrated answers)."""
    click.echo(asyncio.run(run_worker(load_settings(), burst)))


def _loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


def serve_web(settings: Settings, host: str, port: int, workers: int, log_level: str) -> None:
    """The web app on host:port: in this process, or in `workers` processes under uvicorn's supervisor."""
    import os

    import uvicorn

    from bot.http.app import LOCAL_TRIAL_ENV, create_app

    if workers == 1:
        uvicorn.run(
            create_app(settings, local_trial=_loopback(host), serving=True),
            host=host,
            port=port,
            workers=1,
            log_level=log_level,
        )
        return

    import socket

    from uvicorn.supervisors import Multiprocess

    from bot.runtime import mirror_once
    from storage import redis as redis_connection

    os.environ[LOCAL_TRIAL_ENV] = "1" if _loopback(host) else "0"
    asyncio.run(mirror_once(settings))
    config = uvicorn.Config(
        "bot.http.app:app_from_environment", factory=True, host=host, port=port, workers=workers, log_level=log_level
    )
    # What uvicorn.run does for workers > 1, but for one option: uvicorn binds the shared socket without naming TCP,
    # so asyncio leaves Nagle's algorithm on for its connections and every request on a kept-alive connection
    # after the first waits about 40 ms for a delayed ACK (Kludex/uvicorn#3149). Accepted connections inherit
    # TCP_NODELAY from the listening socket.
    listener = config.bind_socket()
    if listener.family in (socket.AF_INET, socket.AF_INET6):
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        if settings.embedded_redis:
            redis_connection.start_embedded(settings.var_dir)
        Multiprocess(config, sockets=[listener]).run()
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
        if settings.embedded_redis:
            redis_connection.stop_embedded(settings.var_dir)


def run_all(settings: Settings, host: str, port: int, workers: int = 1) -> int:
    import os

    from nlu.server import RasaProcess, port_of

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    log = settings.var_dir / "rasa.log"
    # Without RASA_TOKEN, a token for this run only, known to Rasa and the web app.
    rasa = RasaProcess(port_of(settings.rasa_urls[0]), log_path=log, host=settings.rasa_host, token=settings.rasa_token)
    settings = settings.model_copy(update={"rasa_token": rasa.token})
    os.environ["RASA_TOKEN"] = rasa.token  # for the web processes of --workers, which read the environment
    print(f"正在启动 NLU 服务（Rasa，约 40 秒），日志：{log}")
    rasa.start()
    threading.Thread(target=_announce_when_ready, args=(rasa,), daemon=True).start()
    print(
        f"\n网上代表联络站已启动：\n"
        f"  工作台     http://{host}:{port}/console/\n"
        f"             首次使用请先创建工作人员账号：.venv/bin/liaison user add 用户名 --role staff --password\n"
        f"  接口文档   http://{host}:{port}/docs\n"
        f"  健康检查   http://{host}:{port}/healthz\n"
        f"  终端对话   另开一个终端运行 .venv/bin/liaison chat\n"
        f"  接口对话   curl -s http://{host}:{port}/api/messages -H 'content-type: application/json' "
        f'-d \'{{"channel":"web","user_id":"u1","text":"你好"}}\'\n'
        f"按 Ctrl-C 停止。\n"
    )
    try:
        serve_web(settings, host, port, workers, log_level="warning")
    finally:
        print("正在停止 NLU 服务……")
        rasa.stop()
    return 0


def _announce_when_ready(rasa: RasaProcess) -> None:
    try:
        rasa.wait_ready(timeout=300)
        print("NLU 服务已就绪，机器人可以理解自由文字了。")
    except (RuntimeError, TimeoutError) as exc:
        print(f"NLU 服务没有启动：{exc}。机器人会继续用菜单回答。")


async def run_worker(settings: Settings, burst: bool) -> str:
    import signal

    from bot.runtime import Runtime, settle_heap
    from bot.worker.runner import Worker

    runtime = await Runtime.start(settings)
    try:
        runner = Worker(runtime)
        if burst:
            return json.dumps(await runner.run_due(burst=True), ensure_ascii=False)
        settle_heap()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runner.run_forever(stop)
        return "worker stopped"
    finally:
        await runtime.close()
