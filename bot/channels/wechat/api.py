"""The official account's outbound API: wechatpy's WeChatClient with its access token kept in Redis.

Every process shares one token (wechatpy's RedisStorage session); one process at a time fetches a
new one (a Redis lock), and the others then use what it stored. A call refused for an expired or
invalid token (40001, 40014, 42001) fetches a new token once and is tried once more; a second
refusal is an error like any other.

wechatpy's client is synchronous (requests), so every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import requests
from redis import Redis as SyncRedis
from redis.exceptions import RedisError
from wechatpy.client import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from settings import Settings
from storage import redis as redis_connection
from storage.keys import Keys

log = logging.getLogger("liaison.wechat")
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# A token is dropped from the cache this long before WeChat says it expires, so no call uses a dying one.
TOKEN_MARGIN_SECONDS = 300
# Errors that may pass if tried later: system busy, API frequency limits.
RETRYABLE_ERRORS = frozenset({-1, 45009, 45011})


class WeChatError(Exception):
    """WeChat refused or could not be reached; `code` is WeChat's errcode (or "http"/"network")."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class _Client(WeChatClient):
    """WeChatClient whose token endpoint follows WECHAT_API_BASE and is fetched by one process at a time."""

    def __init__(
        self, appid: str, secret: str, api_base: str, storage: RedisStorage, lock: Callable[[], Any], timeout: float
    ) -> None:
        # auto_retry off: wechatpy would retry an expired token without limit; WeChatApi retries once.
        super().__init__(appid, secret, session=storage, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base
        self._lock = lock
        # WeChat answers JSON to JSON; saying so also lets a test double read the bodies.
        self._http.headers["Content-Type"] = "application/json; charset=utf-8"

    def fetch_access_token(self, stale: str | None = None) -> dict[str, Any]:  # type: ignore[override]
        """Fetch a token unless another process stored one (other than `stale`) while this one waited."""
        with self._lock():
            current = self.session.get(self.access_token_key)
            if current and current != stale:
                return {"access_token": current}
            try:
                response = self._http.get(
                    f"{self.API_BASE_URL}token",
                    timeout=self.timeout,
                    params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
                )
                response.raise_for_status()
                result = response.json()
            except (requests.RequestException, ValueError) as exc:
                raise WeChatClientException(None, f"token: {exc}") from exc
            if result.get("errcode"):
                raise WeChatClientException(result["errcode"], result.get("errmsg", ""))
            ttl = max(60, int(result.get("expires_in", 7200)) - TOKEN_MARGIN_SECONDS)
            self.session.set(self.access_token_key, result["access_token"], ttl)
            # The cache's TTL says when to refresh; wechatpy's own clock would make each process refetch.
            self.expires_at = None
            log.info("fetched a WeChat access token (valid %s s)", ttl)
            return result


class WeChatApi:
    def __init__(
        self, app_id: str, secret: str, api_base: str, redis: SyncRedis, keys: Keys, timeout: float = 10.0
    ) -> None:
        base = api_base if api_base.endswith("/") else api_base + "/"
        storage = RedisStorage(redis, prefix=keys.wechat_session)

        def lock() -> Any:
            return redis.lock(keys.wechat_token_lock, timeout=30, blocking_timeout=20)

        self.client = _Client(app_id, secret, base, storage, lock, timeout)
        self.redis = redis

    @classmethod
    def from_settings(cls, settings: Settings, keys: Keys | None = None) -> WeChatApi:
        if not (settings.wechat_app_id and settings.wechat_app_secret):
            raise ValueError("WECHAT_APP_ID and WECHAT_APP_SECRET are needed to call WeChat")
        redis = redis_connection.connect_sync(settings.redis_url, settings.var_dir)
        return cls(
            settings.wechat_app_id,
            settings.wechat_app_secret,
            settings.wechat_api_base,
            redis,
            keys or Keys(settings.redis_prefix),
        )

    async def send_text(self, openid: str, text: str, kf_account: str | None = None) -> dict[str, Any]:
        """A customer-service text message (only inside the citizen's 48-hour window), from the staff account
        `kf_account` when given (WeChat then shows that member of staff as the sender)."""
        return await self._call(self.client.message.send_text, openid, text, kf_account or None)

    async def send_template(
        self, openid: str, template_id: str, data: dict[str, dict[str, str]], url: str | None = None
    ) -> dict[str, Any]:
        return await self._call(self.client.message.send_template, openid, template_id, data, url or None)

    async def create_qrcode(self, scene: str) -> dict[str, Any]:
        """A permanent QR code carrying `scene` (QR_LIMIT_STR_SCENE); the answer's `url` is its content."""
        return await self._call(
            self.client.qrcode.create,
            {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}},
        )

    async def create_menu(self, menu: dict[str, Any]) -> dict[str, Any]:
        return await self._call(self.client.menu.create, menu)

    async def close(self) -> None:
        self.client._http.close()
        self.redis.close()

    async def _call(self, method: Callable[..., Any], *args: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self._call_sync, method, *args)

    def _call_sync(self, method: Callable[..., Any], *args: Any) -> dict[str, Any]:
        try:
            token = self.client.access_token
            try:
                return method(*args)
            except WeChatClientException as exc:
                if exc.errcode not in TOKEN_ERRORS:
                    raise
                log.warning("WeChat refused the access token (%s); fetching a new one, once", exc.errcode)
                self.client.fetch_access_token(stale=token)
                return method(*args)
        except WeChatClientException as exc:
            if exc.errcode is None:  # an HTTP error or an unreadable answer
                status = exc.response.status_code if exc.response is not None else "no answer"
                raise WeChatError("http", str(exc.errmsg or f"HTTP {status}"), retryable=True) from exc
            raise WeChatError(str(exc.errcode), str(exc.errmsg), retryable=exc.errcode in RETRYABLE_ERRORS) from exc
        except (requests.ReadTimeout, requests.exceptions.ChunkedEncodingError) as exc:
            # The request went out and no answer came: it may have been delivered, so never sent again.
            raise WeChatError("in_doubt", str(exc) or type(exc).__name__, retryable=False) from exc
        except requests.RequestException as exc:
            raise WeChatError("network", str(exc) or type(exc).__name__, retryable=True) from exc
        except RedisError as exc:  # the token's cache or lock is unreachable or busy
            raise WeChatError("token_cache", str(exc) or type(exc).__name__, retryable=True) from exc
