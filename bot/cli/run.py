"""`liaison run` (what `make run` does): the Rasa server as a child process and the web app.

The web app starts at once; while Rasa is still loading, the bot answers with its menu and keeps
the messages. Ctrl-C stops the web app, then Rasa.
"""

from __future__ import annotations

import threading

import uvicorn

from bot.http.app import create_app
from nlu.server import RasaProcess, port_of
from settings import Settings


def run_all(settings: Settings, host: str, port: int) -> int:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    log = settings.var_dir / "rasa.log"
    rasa = RasaProcess(port_of(settings.rasa_url), log_path=log)
    print(f"正在启动 NLU 服务（Rasa，约 40 秒），日志：{log}")
    rasa.start()
    threading.Thread(target=_announce_when_ready, args=(rasa,), daemon=True).start()
    print(
        f"\n网上代表联络站已启动：\n"
        f"  接口文档   http://{host}:{port}/docs\n"
        f"  健康检查   http://{host}:{port}/healthz\n"
        f"  终端对话   另开一个终端运行 .venv/bin/liaison chat\n"
        f"  接口对话   curl -s http://{host}:{port}/api/messages -H 'content-type: application/json' "
        f"-d '{{\"channel\":\"web\",\"user_id\":\"u1\",\"text\":\"你好\"}}'\n"
        f"按 Ctrl-C 停止。\n"
    )
    try:
        app = create_app(settings, local_trial=host in ("127.0.0.1", "localhost", "::1"))
        uvicorn.run(app, host=host, port=port, log_level="warning")
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
