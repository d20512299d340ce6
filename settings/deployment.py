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


class RotaException(_Strict):
    """A dated change to the rota (config `reception.exceptions`), applied after the working-day calendar.

    action "open": hold on `date` the sessions a holiday closed (those starting at `start`, or all);
    with `like`, the weekly sessions of that weekday (e.g. an adjusted working Saturday run like a
    Tuesday); with `start` and `end` of no existing session, an extra session of its own.
    action "close": close the sessions of that date (at `start`, or all), with `reason`.
    action "deputies": name the deputies on duty at the sessions of that date (at `start`, or all).
    `station`: one station's sessions (default every station's).
    """

    date: dt.date
    action: Literal["open", "close", "deputies"]
    station: str | None = None
    start: dt.time | None = None
    end: dt.time | None = None
    like: Weekday | None = None
    slot_minutes: int = Field(default=30, gt=0)
    capacity: int = Field(default=3, gt=0)
    deputies: list[str] = Field(default_factory=list)
    reason: str = ""

    @model_validator(mode="after")
    def _complete(self) -> RotaException:
        if self.action == "close" and not self.reason:
            raise ValueError("a closing needs a reason")
        if self.action == "deputies" and not self.deputies:
            raise ValueError("action deputies needs deputies")
        if (self.end is not None) and (self.start is None or self.end <= self.start):
            raise ValueError("end must come with a start before it")
        if self.action == "open" and self.end is not None and self.like is None and not self.deputies:
            raise ValueError("an extra session (start and end) needs its deputies")
        return self


class CouncilDay(_Strict):
    """逢四议事: a session of its own kind on the `week`-th `weekday` of each month (the fourth Thursday),
    with every deputy listed on duty. A weekly session of the station overlapping it is not held."""

    station: str
    weekday: Weekday = "周四"
    week: int = Field(default=4, ge=1, le=5)
    start: dt.time
    end: dt.time
    slot_minutes: int = Field(default=30, gt=0)
    capacity: int = Field(default=5, gt=0)
    deputies: list[str] = Field(min_length=1)


class Reception(_Strict):
    """Booking a reception slot: how far ahead, until when a booking may change, reminders, the digest,
    the waiting list, the 议事日 and the dated exceptions of the rota."""

    weeks_ahead: int = Field(default=4, gt=0, le=26)
    change_hours: int = Field(default=2, ge=0, description="cancel or change up to this many hours before")
    offer_minutes: int = Field(default=120, gt=0, description="a waiting-list offer is held this long")
    reminder_day_before_at: dt.time = dt.time(18, 0)
    reminder_hours_before: int = Field(default=2, gt=0)
    digest_at: dt.time = dt.time(7, 30)
    booking_prefix: str = Field(default="YY", pattern=r"^[A-Z]{1,4}$")
    council_day: CouncilDay | None = None
    exceptions: list[RotaException] = Field(default_factory=list)


class Deadlines(_Strict):
    transfer_hours: int = 24
    reply_working_days: int = 3
    overdue_working_days: int = 5
    rating_days: int = 7


class PublishedYear(_Strict):
    """One year's arrangement as the State Council publishes it each November (国务院办公厅关于部分节假日安排的
    通知), for a year chinese-calendar does not know yet: every day off of its breaks (the statutory days, their
    make-up days and the bridging days, weekends inside a break included) and every adjusted working day."""

    holidays: list[dt.date] = Field(default_factory=list)
    workdays: list[dt.date] = Field(default_factory=list)


class CalendarOverrides(_Strict):
    """The working-day calendar's additions (config `calendar`).

    `years`: the published arrangement of a year chinese-calendar does not know yet (keyed by the year); without
    it, such a year counts its statutory holidays only and the bot warns. `holidays` and `workdays`: local
    decisions (a day off, a Sunday worked) of any year; they win over every source.
    """

    holidays: list[dt.date] = Field(default_factory=list)
    workdays: list[dt.date] = Field(default_factory=list)
    years: dict[int, PublishedYear] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> CalendarOverrides:
        both = set(self.holidays) & set(self.workdays)
        if both:
            raise ValueError(f"{_days(both)} both a holiday and a working day")
        for year, published in self.years.items():
            strays = {day for day in [*published.holidays, *published.workdays] if day.year != year}
            if strays:
                raise ValueError(f"years.{year}: {_days(strays)} not in {year}")
            both = set(published.holidays) & set(published.workdays)
            if both:
                raise ValueError(f"years.{year}: {_days(both)} both a holiday and a working day")
        return self


def _days(days: set[dt.date]) -> str:
    return ", ".join(day.isoformat() for day in sorted(days))


# What a reply template may say: the case's number, its department, topic and place, filled in when offered.
REPLY_TEMPLATE_FACTS = ("case_no", "department", "topic", "place")
# The key of the templates offered for every topic.
GENERAL_TEMPLATES = "通用"


class ReplyTemplate(_Strict):
    """A reply a department starts from: a short `title` and the `text`, with {case_no}, {department}, {topic}
    and {place} filled in, and 【…】 where the handler writes what was done."""

    title: str = Field(min_length=1, max_length=20)
    text: str = Field(min_length=1)

    @model_validator(mode="after")
    def _known_facts(self) -> ReplyTemplate:
        import string

        try:
            names = [n for _, n, _, _ in string.Formatter().parse(self.text) if n is not None]
        except ValueError as exc:
            raise ValueError(f"text: {exc}") from None
        for fact in names:
            if fact not in REPLY_TEMPLATE_FACTS:
                raise ValueError(f"text: unknown {{{fact}}}, use {', '.join(REPLY_TEMPLATE_FACTS)}")
        return self


class CaseRules(_Strict):
    """How the station works its cases (config `cases`).

    `same_person_may_approve`: whether whoever recorded a reply may approve it too (by default another member
    of staff must). `reply_templates`: per first-level topic (or 通用, offered for every topic), the replies a
    department starts from; a topic listed here replaces the built-in templates of that topic.
    """

    same_person_may_approve: bool = False
    reply_templates: dict[str, list[ReplyTemplate]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_topics(self) -> CaseRules:
        for topic in self.reply_templates:
            if topic not in TOPICS and topic != GENERAL_TEMPLATES:
                raise ValueError(f"reply_templates: unknown topic {topic!r}")
        return self


class RateLimit(_Strict):
    messages: int = 20
    per_seconds: int = 60


class Pace(_Strict):
    """At most `messages` in any `per_seconds` (sent evenly: one every per_seconds / messages). `margin_seconds`
    widens the window, so that the jitter between the decision and the platform's arrival never makes messages
    look closer together than the platform allows."""

    messages: int = Field(gt=0)
    per_seconds: float = Field(gt=0)
    margin_seconds: float = Field(default=0.05, ge=0, le=1)


class ChannelPace(_Strict):
    """How fast pushes may go out on one channel (config `push_pacing.<channel>`): `overall` for the whole
    account, `per_recipient` for one person; None for no limit."""

    overall: Pace | None = None
    per_recipient: Pace | None = None


class PushPacing(_Strict):
    """Telegram: 30 messages a second for a bot, 1 a second in one chat (Bot API FAQ). WeChat: customer-service
    messages are limited per person by the window's quota (`wechat.customer_service_quota`), the API by
    calls a day, not a rate: no pace unless one is configured."""

    telegram: ChannelPace = ChannelPace(
        overall=Pace(messages=30, per_seconds=1, margin_seconds=0.08),
        per_recipient=Pace(messages=1, per_seconds=1, margin_seconds=0.1),
    )
    wechat: ChannelPace = ChannelPace()


class PointRule(_Strict):
    """One way a deputy earns performance points (履职积分), matched against the records of one source.

    `source` names where the records come from: "case_event" (an event of a case: `actions` are case
    actions such as answer_on_spot, `to_states` optionally the states the case went to) or "reception"
    (a reception session's outcome, e.g. attended). `credit` says which deputy earns the points: the
    one who acted, or the one following the case (Case.deputy_id).
    """

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    points: int
    source: Literal["case_event", "reception"] = "case_event"
    actions: list[str] = Field(min_length=1)
    to_states: list[str] = Field(default_factory=list)
    credit: Literal["actor", "follower"] = "actor"


DEFAULT_POINT_RULES = (
    PointRule(code="reception_duty", label="参加接待值班", points=5, source="reception", actions=["attended"]),
    PointRule(code="answer_on_spot", label="当场答复群众", points=3, actions=["answer_on_spot"]),
    PointRule(
        code="case_closed",
        label="跟进案件至办结",
        points=2,
        actions=["rate", "close_unrated", "close"],
        to_states=["closed"],
        credit="follower",
    ),
    PointRule(
        code="case_escalated",
        label="跟进案件提请升级",
        points=1,
        actions=["rate", "escalate"],
        to_states=["escalated"],
        credit="follower",
    ),
    PointRule(
        code="reception_answer", label="接待时当场解答群众", points=2, source="reception", actions=["booking_answered"]
    ),
)


class Points(_Strict):
    rules: list[PointRule] = Field(default_factory=lambda: list(DEFAULT_POINT_RULES))

    @model_validator(mode="after")
    def _codes_unique(self) -> Points:
        seen: set[str] = set()
        for i, rule in enumerate(self.rules):
            if rule.code in seen:
                raise ValueError(f"rules[{i}].code: {rule.code!r} is used twice")
            seen.add(rule.code)
        return self


# The kinds of push a template message may stand in for, outside WeChat's 48-hour window.
PushKind = Literal["case_status", "reply_ready", "rating_reminder", "deadline_reminder", "deadline_alert", "booking"]
# What a menu tap (CLICK) may ask for; handlers.events maps each to its flow.
MenuKey = Literal["report", "progress", "booking", "station"]
# What a template field may say: {text} the push, {case_no}, {state}, {topic} of its case, {time} now, {title}.
TEMPLATE_FACTS = ("text", "case_no", "state", "topic", "time", "title")


class WeChatMenuItem(_Strict):
    """A menu button: a `key` the bot answers (CLICK), a `url` it opens (VIEW), or `sub_buttons`."""

    name: str = Field(min_length=1)
    key: MenuKey | None = None
    url: str | None = None
    sub_buttons: list[WeChatMenuItem] = Field(default_factory=list, max_length=5)

    @model_validator(mode="after")
    def _one_action(self) -> WeChatMenuItem:
        if sum((self.key is not None, self.url is not None, bool(self.sub_buttons))) != 1:
            raise ValueError("a menu item needs exactly one of key, url or sub_buttons")
        if self.sub_buttons and any(b.sub_buttons for b in self.sub_buttons):
            raise ValueError("WeChat menus have two levels only")
        if len(self.name.encode()) > 60:
            raise ValueError(f"menu name {self.name!r} is too long for WeChat (60 bytes)")
        return self


class WeChatTemplateField(_Strict):
    value: str
    max_length: int | None = Field(default=None, gt=0)


class WeChatTemplate(_Strict):
    """A template message: its id on the account, an optional link, and its fields, each written with
    the facts in braces (e.g. "{case_no}"); each is cut to WeChat's length for the field's type."""

    template_id: str = Field(min_length=1)
    url: str = ""
    fields: dict[str, str | WeChatTemplateField] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_facts(self) -> WeChatTemplate:
        import string

        for name, field in self.fields.items():
            value = field if isinstance(field, str) else field.value
            try:
                names = [n for _, n, _, _ in string.Formatter().parse(value) if n is not None]
            except ValueError as exc:
                raise ValueError(f"fields.{name}: {exc}") from None
            for fact in names:
                if fact not in TEMPLATE_FACTS:
                    raise ValueError(f"fields.{name}: unknown {{{fact}}}, use {', '.join(TEMPLATE_FACTS)}")
        return self


DEFAULT_WECHAT_MENU = (
    WeChatMenuItem(name="反映问题", key="report"),
    WeChatMenuItem(name="查询进度", key="progress"),
    WeChatMenuItem(
        name="联络站",
        sub_buttons=[WeChatMenuItem(name="预约接待", key="booking"), WeChatMenuItem(name="联络站信息", key="station")],
    ),
)


class WeChatConfig(_Strict):
    """The official account: its menu, the customer-service quota, the template of each kind of push."""

    window_hours: int = Field(default=48, gt=0, le=48)
    customer_service_quota: int = Field(default=5, ge=0, description="customer-service messages per window")
    menu: list[WeChatMenuItem] = Field(default_factory=lambda: list(DEFAULT_WECHAT_MENU), min_length=1, max_length=3)
    templates: dict[PushKind, WeChatTemplate] = Field(default_factory=dict)
    # The customer-service account (客服账号, e.g. "kf2001@gh_xxx") staff answers are sent from; "" for none.
    kf_account: str = Field(default="", max_length=100)

    @model_validator(mode="after")
    def _top_names_short(self) -> WeChatConfig:
        # WeChat counts bytes: 16 for a top-level name (about 4 Chinese characters).
        for i, item in enumerate(self.menu):
            if len(item.name.encode()) > 16:
                raise ValueError(f"menu[{i}].name: {item.name!r} is too long for WeChat (16 bytes)")
        return self


class Deployment(_Strict):
    name: str
    case_prefix: str = Field(default="LL", pattern=r"^[A-Z]{1,4}$")
    stations: list[Station] = Field(min_length=1)
    departments: list[Department] = Field(min_length=1)
    deputies: list[Deputy] = Field(default_factory=list)
    duty_rota: list[DutySession] = Field(default_factory=list)
    reception: Reception = Reception()
    deadlines: Deadlines = Deadlines()
    cases: CaseRules = CaseRules()
    calendar: CalendarOverrides = CalendarOverrides()
    rate_limit: RateLimit = RateLimit()
    push_pacing: PushPacing = PushPacing()
    points: Points = Points()
    wechat: WeChatConfig = WeChatConfig()

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
        self._reception_references_resolve(stations, deputies)
        return self

    def _reception_references_resolve(self, stations: set[str], deputies: set[str]) -> None:
        reception = self.reception
        if reception.booking_prefix == self.case_prefix:
            raise ValueError("reception.booking_prefix: must differ from case_prefix")
        council = reception.council_day
        if council is not None:
            if council.station not in stations:
                raise ValueError(f"reception.council_day.station: unknown station {council.station!r}")
            for code in council.deputies:
                if code not in deputies:
                    raise ValueError(f"reception.council_day.deputies: unknown deputy {code!r}")
            if council.end <= council.start:
                raise ValueError("reception.council_day.end: must be after start")
        for i, exception in enumerate(reception.exceptions):
            if exception.station is not None and exception.station not in stations:
                raise ValueError(f"reception.exceptions[{i}].station: unknown station {exception.station!r}")
            for code in exception.deputies:
                if code not in deputies:
                    raise ValueError(f"reception.exceptions[{i}].deputies: unknown deputy {code!r}")

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
