"""履职积分 from case events (and a reception outcome), each point traced; the yearly 履职档案."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from casework.cases import CaseState
from casework.history import DeputyRow
from casework.lifecycle import Action
from casework.points import Deed, deeds_from_cases, deputy_record, points_of
from settings import ConfigError, load_deployment
from settings.deployment import DEFAULT_POINT_RULES, PointRule
from tests.conftest import ROOT
from tests.unit.casework.test_metrics import at, event, history, national_day_cases

RULES = list(DEFAULT_POINT_RULES)
WANG = DeputyRow("wang-min", "王敏", "区县", "示范街道第一选区", "示范街道人大代表联络站")


def _events(number: str, action: str):
    case = next(h for h in national_day_cases() if h.number == number)
    return [e for e in case.events if e.action == action]


def test_a_deputy_earns_points_for_what_they_did_and_the_cases_they_follow():
    cases = national_day_cases()
    items = points_of("wang-min", deeds_from_cases(cases), RULES, year=2026)
    # C: answered on the spot by 王敏 (3), then closed unrated while 王敏 follows it (2);
    # B: followed by 王敏, escalated after the second 不满意 (1). A is followed by 李建国.
    assert [(i.ref, i.rule, i.points, i.kind) for i in items] == [
        ("LL20260930002", "answer_on_spot", 3, "answer_on_spot"),
        ("LL20260930002", "case_closed", 2, "close_unrated"),
        ("LL20260929001", "case_escalated", 1, "rate"),
    ]
    assert sum(i.points for i in items) == 6
    # Each point names the event that earned it.
    by_id = {e.id: e for h in cases for e in h.events}
    assert all(by_id[i.record_id].action == i.kind and by_id[i.record_id].at == i.at for i in items)
    assert items[0].as_dict() == {
        "rule": "answer_on_spot",
        "label": "当场答复群众",
        "points": 3,
        "source": "case_event",
        "case_no": "LL20260930002",
        "event_id": items[0].record_id,
        "action": "answer_on_spot",
        "date": "2026-09-30",
    }
    assert [(i.ref, i.rule) for i in points_of("li-jianguo", deeds_from_cases(cases), RULES)] == [
        ("LL20260930001", "case_closed")
    ]
    assert points_of("wang-min", deeds_from_cases(cases), RULES, year=2025) == []


def test_staff_answering_on_the_spot_earns_no_deputy_points():
    deed = Deed(
        "case_event",
        Action.ANSWER_ON_SPOT,
        at(2026, 9, 30, 15),
        "LL20260930009",
        99,
        to_state=CaseState.ANSWERED_ON_SPOT,
        actor=None,
        follower="wang-min",
    )
    assert points_of("wang-min", [deed], RULES) == []


def test_another_source_is_scored_by_its_own_rules():
    reception = Deed("reception", "attended", at(2026, 11, 24, 11), "reception:2026-11-24:demo", 7, actor="wang-min")
    absent = Deed("reception", "absent", at(2026, 12, 1, 11), "reception:2026-12-01:demo", 8, actor="wang-min")
    items = points_of("wang-min", [reception, absent], RULES)
    assert [(i.rule, i.points, i.source, i.ref, i.record_id) for i in items] == [
        ("reception_duty", 5, "reception", "reception:2026-11-24:demo", 7)
    ]
    penalty = PointRule(code="missed_duty", label="无故缺席接待", points=-2, source="reception", actions=["absent"])
    assert [i.points for i in points_of("wang-min", [reception, absent], [*RULES, penalty])] == [5, -2]


def test_a_rule_without_target_states_counts_every_event_of_its_actions():
    every_transfer = PointRule(
        code="followed_transfer", label="跟进案件转办", points=1, actions=["transfer"], credit="follower"
    )
    items = points_of("wang-min", deeds_from_cases(national_day_cases()), [every_transfer])
    assert [i.ref for i in items] == ["LL20260929001"]


def test_the_yearly_record():
    record = deputy_record(WANG, 2026, national_day_cases(), RULES)
    assert [c.number for c in record.cases] == ["LL20260929001", "LL20260930002"]
    assert record.cases_by_state == {"已办结": 1, "已升级": 1}
    assert [(a.number, a.on, a.answer) for a in record.on_the_spot] == [
        ("LL20260930002", dt.date(2026, 9, 30), "公交站台顶棚本周内修复。")
    ]
    assert record.total == 6 and len(record.points) == 3
    as_json = record.as_dict()
    assert as_json["deputy"]["name"] == "王敏" and as_json["points_total"] == 6
    assert as_json["cases_by_state"] == {"已办结": 1, "已升级": 1}
    assert deputy_record(WANG, 2025, national_day_cases(), RULES).total == 0


def test_an_answer_in_the_record_is_masked_but_for_deputies_names():
    answered = history(
        "LL20261001001",
        at(2026, 10, 1, 9),
        [
            event(
                "answer_on_spot",
                "received",
                "answered_on_spot",
                at(2026, 10, 1, 15),
                role="deputy",
                actor="wangmin",
                deputy="wang-min",
                reason="人大代表当场答复：王敏已联系王小明（138 1234 5678），本周修复。",
            )
        ],
        state="answered_on_spot",
        deputy=("wang-min", "王敏"),
    )
    record = deputy_record(WANG, 2026, [answered], RULES, public={"王敏"})
    assert [a.answer for a in record.on_the_spot] == ["王敏已联系王**（138****5678），本周修复。"]


def test_the_rules_in_config_yml_name_real_actions_and_states():
    rules = load_deployment(ROOT / "config.yml").points.rules
    assert rules == RULES
    for rule in rules:
        if rule.source == "case_event":
            assert set(rule.actions) <= {a.value for a in Action}, rule.code
            assert set(rule.to_states) <= {s.value for s in CaseState}, rule.code


def test_a_wrong_points_section_is_one_line(tmp_path: Path):
    config = (ROOT / "config.yml").read_text(encoding="utf-8")
    twice = tmp_path / "twice.yml"
    twice.write_text(config.replace("code: case_escalated", "code: case_closed"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"points: rules\[3\].code: 'case_closed' is used twice"):
        load_deployment(twice)
    unknown = tmp_path / "unknown.yml"
    unknown.write_text(config.replace("credit: follower", "credit: follower\n      weight: 2", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"points.rules.2.weight: unknown key"):
        load_deployment(unknown)
