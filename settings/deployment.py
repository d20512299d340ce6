"""The deployment described by config.yml: stations, departments, deputies, duty rota, deadlines.

Loaded and validated once at start; a mistake is reported as one line naming the file and the key.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# The first-level topics a case can be routed to (DESIGN.md contract).
TOPICS = ("城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "商贸旅游", "卫生计生", "其他")

Channel = Literal["wechat", "telegram", "sms", "phone"]
Weekday = Literal["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
WEEKDAYS: tuple[str, ...] = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


class ConfigError(Exception):
    """config.yml is missing, unreadable or wrong; the message is one line for the operator."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Station(_Strict):
    code: str
    name: str
    address: str
    hours: str
    phone: str


class Department(_Strict):
    code: str
    name: str
    topics: list[str]
    phone: str = ""


class Deputy(_Strict):
    code: str
    name: str
    level: Literal["乡镇", "区县", "市", "省", "全国"]
    constituency: str
    station: str
    channels: list[Channel] = Field(default_factory=list)
    phone: str = ""


class DutySession(_Strict):
    """A weekly reception session; deputies on duty take turns week by week in list order."""

    station: str
    weekday: Weekday
    start: dt.time
    end: dt.time
    slot_minutes: int = Field(default=30, gt=0)
    capacity: int = Field(default=3, gt=0)
    deputies: list[str] = Field(min_length=1)
    per_week: int = Field(default=1, gt=0, description="how many of `deputies` are on duty each week")


class Deadlines(_Strict):
    transfer_hours: int = 24
    reply_working_days: int = 3
    overdue_working_days: int = 5
    rating_days: int = 7


class CalendarOverrides(_Strict):
    """Days chinese-calendar does not know yet, or local decisions."""

    holidays: list[dt.date] = Field(default_factory=list)
    workdays: list[dt.date] = Field(default_factory=list)


class RateLimit(_Strict):
    messages: int = 20
    per_seconds: int = 60


class Deployment(_Strict):
    name: str
    case_prefix: str = Field(default="LL", pattern=r"^[A-Z]{1,4}$")
    stations: list[Station] = Field(min_length=1)
    departments: list[Department] = Field(min_length=1)
    deputies: list[Deputy] = Field(default_factory=list)
    duty_rota: list[DutySession] = Field(default_factory=list)
    deadlines: Deadlines = Deadlines()
    calendar: CalendarOverrides = CalendarOverrides()
    rate_limit: RateLimit = RateLimit()

    @model_validator(mode="after")
    def _references_resolve(self) -> Deployment:
        stations = {s.code for s in self.stations}
        deputies = {d.code for d in self.deputies}
        owners: dict[str, str] = {}
        for i, dept in enumerate(self.departments):
            for topic in dept.topics:
                if topic not in TOPICS:
                    raise ValueError(f"departments[{i}].topics: unknown topic {topic!r}")
                if topic in owners:
                    raise ValueError(f"departments[{i}].topics: {topic!r} is already owned by {owners[topic]}")
                owners[topic] = dept.code
        missing = [t for t in TOPICS if t not in owners]
        if missing:
            raise ValueError(f"departments: no department owns the topic(s) {', '.join(missing)}")
        for i, dep in enumerate(self.deputies):
            if dep.station not in stations:
                raise ValueError(f"deputies[{i}].station: unknown station {dep.station!r}")
        for i, session in enumerate(self.duty_rota):
            if session.station not in stations:
                raise ValueError(f"duty_rota[{i}].station: unknown station {session.station!r}")
            for code in session.deputies:
                if code not in deputies:
                    raise ValueError(f"duty_rota[{i}].deputies: unknown deputy {code!r}")
            if session.end <= session.start:
                raise ValueError(f"duty_rota[{i}].end: must be after start")
        return self

    @property
    def main_station(self) -> Station:
        return self.stations[0]

    def deputy(self, code: str) -> Deputy | None:
        return next((d for d in self.deputies if d.code == code), None)


def load_deployment(path: Path) -> Deployment:
    """Read and validate config.yml; raise ConfigError with one readable line."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (set LIAISON_CONFIG or create it)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        return Deployment.model_validate(raw)
    except ValidationError as exc:
        # A misspelt key shows up twice (unknown, and the real one missing): name the misspelling.
        err = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
            missing = [".".join(map(str, e["loc"])) for e in exc.errors() if e["type"] == "missing"]
            if close := difflib.get_close_matches(where, missing, n=1):
                message += f" (did you mean {close[0]}?)"
        elif err["type"] == "missing":
            message = "required key is missing"
        raise ConfigError(f"{path}: {where}: {message}") from None
