"""`liaison wechat qrcode|menu` and `liaison deputy bind-code`: setting up the official account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import qrcode

from bot.channels.wechat.api import WeChatApi, WeChatError
from handlers.events import DEPUTY_SCENE
from services.conversations import issue_bind_code as new_bind_code
from settings import Settings, load_deployment
from settings.deployment import WeChatMenuItem
from storage import redis as redis_connection
from storage.keys import Keys


async def deputy_qrcode(settings: Settings, deputy_code: str, out: Path | None = None) -> tuple[Path, str]:
    """A permanent QR code whose scan opens a conversation addressed to the deputy; written as a PNG.

    Returns the file and the code's content (WeChat's url for it)."""
    deputy = load_deployment(settings.config_path).deputy(deputy_code)
    if deputy is None:
        raise ValueError(f"config.yml 中没有代码为 {deputy_code} 的代表")
    api = WeChatApi.from_settings(settings)
    try:
        answer = await api.create_qrcode(f"{DEPUTY_SCENE}{deputy.code}")
    except WeChatError as exc:
        raise ValueError(f"微信拒绝创建二维码：{exc.code} {exc}") from None
    finally:
        await api.close()
    url = answer.get("url")
    if not url:
        raise ValueError(f"微信没有返回二维码内容：{answer}")
    path = out or Path(f"qrcode-{deputy.code}.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    qrcode.make(url, border=4, box_size=10).save(path)
    return path, url


def menu_json(items: list[WeChatMenuItem]) -> dict[str, Any]:
    """config.yml's menu as WeChat's menu/create wants it."""

    def button(item: WeChatMenuItem) -> dict[str, Any]:
        if item.sub_buttons:
            return {"name": item.name, "sub_button": [button(sub) for sub in item.sub_buttons]}
        if item.url:
            return {"type": "view", "name": item.name, "url": item.url}
        return {"type": "click", "name": item.name, "key": item.key}

    return {"button": [button(item) for item in items]}


async def create_menu(settings: Settings) -> dict[str, Any]:
    menu = menu_json(load_deployment(settings.config_path).wechat.menu)
    api = WeChatApi.from_settings(settings)
    try:
        await api.create_menu(menu)
    except WeChatError as exc:
        raise ValueError(f"微信拒绝创建菜单：{exc.code} {exc}") from None
    finally:
        await api.close()
    return menu


async def issue_bind_code(settings: Settings, deputy_code: str) -> str:
    """A one-time code the deputy sends to the account as “绑定 CODE” (valid for a day)."""
    if load_deployment(settings.config_path).deputy(deputy_code) is None:
        raise ValueError(f"config.yml 中没有代码为 {deputy_code} 的代表")
    redis = redis_connection.connect(settings.redis_url, settings.var_dir)
    try:
        return await new_bind_code(redis, Keys(settings.redis_prefix), deputy_code)
    finally:
        await redis.aclose()
