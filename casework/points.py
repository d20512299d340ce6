"""履职积分 and 履职档案: the points a deputy earns, each traced to what earned it, and their yearly record.

Points come from deeds: records of one source that may earn a deputy points. Each rule of
config.yml (`points.rules`, settings.deployment.PointRule) names a source, the kinds of record it
counts and which deputy it credits; every (deed, matching rule) pair is one `PointItem`.

Today's source is case events (`deeds_from_cases`). Another source, such as reception outcomes,
needs only a function turning its records into `Deed`s with `source="reception"`, passed to
`points_of` beside the case deeds, and rules naming that source. Pure; no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from casework.cases import STATE_LABELS, CaseState
from casework.history import CaseHistory, DeputyRow
from casework.lifecycle import Action
from casework.metrics import local_date, on_the_spot_answer
from casework.privacy import mask_text
from settings.deployment import PointRule

CASE_EVENT = "case_event"


@dataclass(frozen=True)
class Deed:
    """A record that may earn points.

    `kind`: the case event's action (or the reception's outcome). `ref`: what it is about (a case
    number). `record_id`: the id of the row that records it (the case event). `actor`: the code of the
    deputy who did it, when a deputy did; `follower`: the code of the deputy following the case.
    """

    source: str
    kind: str
    at: dt.datetime
    ref: str
    record_id: int
    to_state: str | None = None
    actor: str | None = None
    follower: str | None = None


@dataclass(frozen=True)
class PointItem:
    """Points earned under one rule for one deed: the trace of every point."""

    rule: str
    label: str
    points: int
    source: str
    ref: str
    record_id: int
    kind: str
    at: dt.datetime

    def as_dict(self) -> dict[str, str | int]:
        return {
            "rule": self.rule,
            "label": self.label,
            "points": self.points,
            "source": self.source,
            "case_no": self.ref,
            "event_id": self.record_id,
            "action": self.kind,
            "date": local_date(self.at).isoformat(),
        }


def deeds_from_cases(histories: Iterable[CaseHistory]) -> list[Deed]:
    """One deed per case event, crediting the deputy who acted and the one following the case."""
    return [
        Deed(
            source=CASE_EVENT,
            kind=e.action,
            at=e.at,
            ref=h.number,
            record_id=e.id,
            to_state=e.to_state,
            actor=e.actor_deputy,
            follower=h.deputy_code,
        )
        for h in histories
        for e in h.events
    ]


def matches(rule: PointRule, deed: Deed) -> bool:
    return (
        rule.source == deed.source
        and deed.kind in rule.actions
        and (not rule.to_states or deed.to_state in rule.to_states)
    )


def credited(rule: PointRule, deed: Deed) -> str | None:
    """The deputy a matching rule credits for the deed (None: nobody)."""
    return deed.actor if rule.credit == "actor" else deed.follower


def points_of(
    deputy: str, deeds: Iterable[Deed], rules: Sequence[PointRule], year: int | None = None
) -> list[PointItem]:
    """The points `deputy` (a code) earned from `deeds`, in Beijing-time `year` if given, oldest first."""
    # Each deed is put only to the rules of its source and kind: a year's deeds are thousands.
    by_kind: dict[tuple[str, str], list[PointRule]] = defaultdict(list)
    for rule in rules:
        for kind in set(rule.actions):
            by_kind[(rule.source, kind)].append(rule)
    items = [
        PointItem(
            rule=rule.code,
            label=rule.label,
            points=rule.points,
            source=deed.source,
            ref=deed.ref,
            record_id=deed.record_id,
            kind=deed.kind,
            at=deed.at,
        )
        for deed in deeds
        if year is None or local_date(deed.at).year == year
        for rule in by_kind.get((deed.source, deed.kind), ())
        if matches(rule, deed) and credited(rule, deed) == deputy
    ]
    return sorted(items, key=lambda item: (item.at, item.record_id, item.rule))


@dataclass(frozen=True)
class FollowedCase:
    number: str
    received_on: dt.date
    topic: str
    state: CaseState


@dataclass(frozen=True)
class SpotAnswer:
    number: str
    on: dt.date
    answer: str


@dataclass(frozen=True)
class DeputyRecord:
    """履职档案: one deputy's year — identity, cases followed, answers on the spot, points with their trace."""

    identity: DeputyRow
    year: int
    cases: tuple[FollowedCase, ...]
    on_the_spot: tuple[SpotAnswer, ...]
    points: tuple[PointItem, ...]

    @property
    def total(self) -> int:
        return sum(item.points for item in self.points)

    @property
    def cases_by_state(self) -> dict[str, int]:
        """Chinese state label -> cases followed in it, in the order of the states."""
        counts = Counter(case.state for case in self.cases)
        return {STATE_LABELS[state]: counts[state] for state in CaseState if counts[state]}

    def as_dict(self) -> dict[str, Any]:
        who = self.identity
        return {
            "deputy": {
                "code": who.code,
                "name": who.name,
                "level": who.level,
                "constituency": who.constituency,
                "station": who.station,
            },
            "year": self.year,
            "cases_followed": len(self.cases),
            "cases_by_state": self.cases_by_state,
            "cases": [
                {
                    "case_no": c.number,
                    "received_on": c.received_on.isoformat(),
                    "topic": c.topic,
                    "state": c.state.value,
                    "state_label": c.state.label,
                }
                for c in self.cases
            ],
            "on_the_spot_answers": [
                {"case_no": a.number, "date": a.on.isoformat(), "answer": a.answer} for a in self.on_the_spot
            ],
            "points_total": self.total,
            "points": [item.as_dict() for item in self.points],
        }


def deputy_record(
    identity: DeputyRow,
    year: int,
    histories: Sequence[CaseHistory],
    rules: Sequence[PointRule],
    extra_deeds: Iterable[Deed] = (),
    public: Collection[str] = (),
) -> DeputyRecord:
    """The record of the deputy `identity` for `year` from the cases they followed or acted on in it.

    Cases followed: those following the deputy (Case.deputy_id) with an event in the year, in their
    current state. `extra_deeds`: deeds of other sources (reception outcomes) to score with the case events.
    A record is about the deputy's work: the answers in it are masked (casework.privacy), but for the
    `public` names (deputies).
    """
    code = identity.code
    in_year = [h for h in histories if any(local_date(e.at).year == year for e in h.events)]
    cases = tuple(
        FollowedCase(h.number, local_date(h.created_at), h.topic, CaseState(h.state))
        for h in in_year
        if h.deputy_code == code
    )
    answers = tuple(
        SpotAnswer(
            h.number, local_date(e.at), mask_text(on_the_spot_answer(e), (h.citizen_name, *h.named_people), public)
        )
        for h in in_year
        for e in h.events
        if e.action == Action.ANSWER_ON_SPOT and e.actor_deputy == code and local_date(e.at).year == year
    )
    deeds = [*deeds_from_cases(in_year), *extra_deeds]
    return DeputyRecord(
        identity=identity,
        year=year,
        cases=cases,
        on_the_spot=answers,
        points=tuple(points_of(code, deeds, rules, year)),
    )
