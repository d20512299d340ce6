from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from casework.cases import CaseState, Role
from casework.lifecycle import (
    COMMITTEE_KINDS,
    FINAL_STATES,
    OPEN_STATES,
    RATINGS,
    RULES,
    Action,
    CaseFacts,
    Command,
    IllegalTransition,
    Policy,
    SplitPart,
    Transition,
    allowed_actions,
    apply,
    decide,
    numbered_split,
)

NUMBER = "LL20261122001"
OTHER = "LL20261122002"
# States nothing leaves; an escalated case still takes the standing committee's follow-up and its closing.
ENDED_STATES = FINAL_STATES - {CaseState.ESCALATED}
TWO_PARTS = (SplitPart("幸福路路灯不亮", "城乡建设", "区住房和城乡建设局"), SplitPart("路口红绿灯坏了", "交通运输"))


def new_case(state: CaseState = CaseState.RECEIVED, **kw) -> CaseFacts:
    return CaseFacts(state=state, number=NUMBER, **kw)


def cmd(action: Action, role: Role, **kw) -> Command:
    return Command(action=action, role=role, actor=f"{role}-1", **kw)


def run(facts: CaseFacts, *commands: Command) -> tuple[CaseFacts, list[Transition]]:
    transitions = []
    for command in commands:
        transition = decide(facts, command)
        facts = apply(facts, transition)
        transitions.append(transition)
    return facts, transitions


def refused(facts: CaseFacts, command: Command) -> IllegalTransition:
    with pytest.raises(IllegalTransition) as info:
        decide(facts, command)
    return info.value


TRANSFER = cmd(Action.TRANSFER, Role.STAFF)
ACK = cmd(Action.ACKNOWLEDGE, Role.DEPARTMENT)
REPLY = cmd(Action.RECORD_REPLY, Role.DEPARTMENT, reason="已修复路灯")
APPROVE = cmd(Action.APPROVE_REPLY, Role.STAFF)


def rate(rating: str, **kw) -> Command:
    return cmd(Action.RATE, Role.CITIZEN, rating=rating, **kw)


# --- examples


def test_happy_path_ends_closed_after_a_satisfied_rating():
    facts, ts = run(new_case(), TRANSFER, ACK, REPLY, APPROVE, rate("满意"))
    assert [t.to_state for t in ts] == [
        CaseState.TRANSFERRED,
        CaseState.IN_PROGRESS,
        CaseState.IN_PROGRESS,
        CaseState.REPLIED,
        CaseState.CLOSED,
    ]
    assert facts == CaseFacts(
        CaseState.CLOSED,
        NUMBER,
        pending_reply=False,
        replies_approved=1,
        unsatisfied_ratings=0,
        rated_current_reply=True,
    )
    assert "notify_department" in ts[0].effects
    assert ts[2].effects == {"reply_pending"}
    assert ts[3].effects == {"reply_sent_to_citizen", "rating_requested"}
    assert ts[3].reply_number == 1
    assert ts[4].reason == "群众评价：满意"
    assert ts[4].effects == {"rating_recorded"}
    assert all(t.reason for t in ts)


def test_basically_satisfied_also_closes():
    facts, ts = run(new_case(), TRANSFER, ACK, REPLY, APPROVE, rate("基本满意", reason="还行"))
    assert facts.state is CaseState.CLOSED
    assert ts[-1].reason == "群众评价：基本满意：还行"


def test_unhappy_path_rehandles_once_then_escalates():
    facts, ts = run(new_case(), TRANSFER, ACK, REPLY, APPROVE, rate("不满意", reason="灯还是不亮"))
    assert facts.state is CaseState.REHANDLING
    assert facts.unsatisfied_ratings == 1 and facts.rated_current_reply
    assert ts[-1].effects == {"rating_recorded", "notify_department"}
    assert "不满意" in ts[-1].reason and "灯还是不亮" in ts[-1].reason

    facts, ts = run(facts, REPLY, APPROVE)
    assert facts.state is CaseState.REPLIED and facts.replies_approved == 2
    assert ts[-1].reply_number == 2 and "第2次" in ts[-1].reason
    assert not facts.rated_current_reply

    facts, ts = run(facts, rate("不满意"))
    assert facts.state is CaseState.ESCALATED
    assert facts.unsatisfied_ratings == 2
    assert ts[-1].effects == {"rating_recorded", "notify_staff"}


def test_answered_on_the_spot_then_rated():
    facts, ts = run(new_case(), cmd(Action.ANSWER_ON_SPOT, Role.DEPUTY, answer="已联系社区，本周内修复"))
    assert facts.state is CaseState.ANSWERED_ON_SPOT
    assert "rating_requested" in ts[0].effects
    assert ts[0].reason == "人大代表当场答复：已联系社区，本周内修复"
    facts, _ = run(facts, rate("满意"))
    assert facts.state is CaseState.CLOSED


def test_answer_on_the_spot_requires_an_answer():
    assert refused(new_case(), cmd(Action.ANSWER_ON_SPOT, Role.DEPUTY)).code == "answer_required"


def test_unsatisfied_with_an_answer_on_the_spot_goes_back_for_rehandling():
    facts, _ = run(new_case(), cmd(Action.ANSWER_ON_SPOT, Role.STAFF, answer="已答复"), rate("不满意"))
    assert facts.state is CaseState.REHANDLING


def test_rejected_and_withdrawn_need_a_reason():
    error = refused(new_case(), cmd(Action.REJECT, Role.STAFF))
    assert error.code == "reason_required" and "原因" in error.message
    facts, ts = run(new_case(), cmd(Action.REJECT, Role.STAFF, reason="不属于本站职责"))
    assert facts.state is CaseState.REJECTED and ts[0].reason == "不予受理：不属于本站职责"

    assert refused(new_case(), cmd(Action.WITHDRAW, Role.CITIZEN, reason="  ")).code == "reason_required"
    facts, ts = run(new_case(CaseState.IN_PROGRESS), cmd(Action.WITHDRAW, Role.CITIZEN, reason="已自行解决"))
    assert facts.state is CaseState.WITHDRAWN and ts[0].reason == "群众撤回：已自行解决"
    assert "notify_department" in ts[0].effects
    facts, ts = run(new_case(), cmd(Action.WITHDRAW, Role.STAFF, reason="群众电话要求撤回"))
    assert facts.state is CaseState.WITHDRAWN and ts[0].reason.startswith("工作人员代群众撤回")


def test_reject_only_before_the_department_starts():
    error = refused(new_case(CaseState.IN_PROGRESS), cmd(Action.REJECT, Role.STAFF, reason="x"))
    assert error.code == "wrong_state"
    assert error.message == "当前状态为“办理中”，不能作不予受理处理。"


def test_refusing_a_transfer_by_a_department_or_from_the_wrong_state():
    error = refused(new_case(), cmd(Action.TRANSFER, Role.DEPARTMENT))
    assert error.code == "forbidden_role"
    assert error.message == "只有工作人员可以转办案件。"
    error = refused(new_case(CaseState.IN_PROGRESS), TRANSFER)
    assert error.code == "wrong_state"
    assert error.message == "当前状态为“办理中”，不能转办案件。"
    assert str(error) == error.message


def test_approve_without_a_pending_reply():
    error = refused(new_case(), APPROVE)
    assert error.code == "wrong_state"
    assert error.message == "当前状态为“已受理”，不能审核答复。"
    error = refused(new_case(CaseState.IN_PROGRESS), APPROVE)
    assert error.code == "no_pending_reply"
    assert error.message == "案件 LL20261122001 没有待审核的答复，不能审核答复。"
    assert refused(new_case(CaseState.IN_PROGRESS), cmd(Action.SEND_BACK_REPLY, Role.STAFF, reason="x")).code == (
        "no_pending_reply"
    )


def test_sending_a_reply_back_needs_a_reason_and_clears_it():
    facts, _ = run(new_case(CaseState.IN_PROGRESS), REPLY)
    assert refused(facts, REPLY).code == "reply_already_pending"
    assert refused(facts, cmd(Action.SEND_BACK_REPLY, Role.STAFF)).code == "reason_required"
    facts, ts = run(facts, cmd(Action.SEND_BACK_REPLY, Role.STAFF, reason="答复未写明完成时间"))
    assert facts.state is CaseState.IN_PROGRESS and not facts.pending_reply
    assert "reply_sent_back" in ts[0].effects
    assert ts[0].reason == "答复退回修改：答复未写明完成时间"


def test_rating_twice_for_the_same_reply():
    facts, _ = run(new_case(), TRANSFER, ACK, REPLY, APPROVE, rate("不满意"))
    error = refused(facts, rate("满意"))
    assert error.code == "already_rated"
    assert "已经评价过" in error.message


def test_rating_after_closing_says_the_case_is_closed():
    facts, _ = run(new_case(), TRANSFER, ACK, REPLY, APPROVE, rate("满意"))
    error = refused(facts, rate("满意"))
    assert error.code == "final_state"
    assert error.message == "案件 LL20261122001 已办结，不能再评价。"


def test_rating_by_another_citizen_and_bad_ratings():
    facts, _ = run(new_case(), TRANSFER, ACK, REPLY, APPROVE)
    error = refused(facts, rate("满意", is_own_case=False))
    assert error.code == "not_own_case" and "不是您反映的" in error.message
    assert refused(facts, rate("很好")).code == "bad_rating"
    assert refused(facts, cmd(Action.RATE, Role.CITIZEN)).code == "bad_rating"
    assert refused(facts, cmd(Action.WITHDRAW, Role.CITIZEN, reason="x", is_own_case=False)).code == "not_own_case"
    assert refused(facts, cmd(Action.ADD_INFO, Role.CITIZEN, is_own_case=False)).code == "not_own_case"


def test_rating_before_any_reply_is_refused():
    assert refused(new_case(CaseState.IN_PROGRESS), rate("满意")).code == "wrong_state"


def test_close_unrated_is_for_the_system_only():
    facts, _ = run(new_case(), TRANSFER, ACK, REPLY, APPROVE)
    assert refused(facts, cmd(Action.CLOSE_UNRATED, Role.STAFF)).code == "forbidden_role"
    closed, ts = run(facts, cmd(Action.CLOSE_UNRATED, Role.SYSTEM))
    assert closed.state is CaseState.CLOSED and ts[0].reason == "逾期未评价"
    assert "rating_recorded" not in ts[0].effects
    assert refused(new_case(CaseState.IN_PROGRESS), cmd(Action.CLOSE_UNRATED, Role.SYSTEM)).code == "wrong_state"


def test_close_before_a_reply_needs_a_reason():
    assert run(new_case(CaseState.REPLIED), cmd(Action.CLOSE, Role.STAFF))[0].state is CaseState.CLOSED
    assert refused(new_case(CaseState.RECEIVED), cmd(Action.CLOSE, Role.STAFF)).code == "reason_required"
    facts, ts = run(new_case(CaseState.RECEIVED), cmd(Action.CLOSE, Role.ADMIN, reason="重复反映"))
    assert facts.state is CaseState.CLOSED and "重复反映" in ts[0].reason


def test_merge_into_another_case():
    facts, ts = run(new_case(CaseState.TRANSFERRED), cmd(Action.MERGE, Role.STAFF, merged_into=" ll20261122002 "))
    assert facts.state is CaseState.CLOSED
    assert ts[0].reason == f"并入 {OTHER}" and ts[0].merged_into == OTHER
    assert refused(new_case(), cmd(Action.MERGE, Role.STAFF, merged_into=NUMBER.lower())).code == "bad_merge"
    assert refused(new_case(), cmd(Action.MERGE, Role.STAFF)).code == "bad_merge"


def test_escalate_needs_a_level_and_a_reason():
    assert refused(new_case(), cmd(Action.ESCALATE, Role.STAFF, reason="x", level="省")).code == "bad_level"
    assert refused(new_case(), cmd(Action.ESCALATE, Role.STAFF, level="市")).code == "reason_required"
    facts, ts = run(new_case(), cmd(Action.ESCALATE, Role.STAFF, level="区县", reason="涉及跨镇街道路"))
    assert facts.state is CaseState.ESCALATED
    assert ts[0].level == "区县" and ts[0].reason == "升级至区县人大：涉及跨镇街道路"
    assert "notify_staff" in ts[0].effects


def test_assign_and_add_info_keep_the_state():
    before = new_case(CaseState.TRANSFERRED, topic="城乡建设", department="区住房和城乡建设局")
    move = cmd(Action.ASSIGN, Role.STAFF, reason="改为交通运输类", topic="交通运输", department="区交通运输局")
    facts, ts = run(before, move)
    assert facts.state is CaseState.TRANSFERRED and {"reassigned", "notify_department"} <= ts[0].effects
    assert (facts.topic, facts.department) == ("交通运输", "区交通运输局")
    facts, ts = run(facts, cmd(Action.ADD_INFO, Role.CITIZEN, reason="补充照片"))
    assert facts.state is CaseState.TRANSFERRED and "notify_department" in ts[0].effects
    assert ts[0].reason == "群众补充情况：补充照片"
    assert refused(facts, cmd(Action.ADD_INFO, Role.DEPARTMENT)).code == "forbidden_role"
    assert refused(facts, cmd(Action.ASSIGN, Role.DEPUTY)).code == "forbidden_role"


def test_assign_records_the_topic_and_department_before_and_after():
    before = new_case(CaseState.IN_PROGRESS, topic="城乡建设", department="区住房和城乡建设局")
    moved = decide(before, cmd(Action.ASSIGN, Role.STAFF, topic="交通运输", department="区交通运输局", reason="属交通"))
    assert (
        moved.reason
        == "调整案件分类或承办部门：类别 城乡建设 → 交通运输；承办部门 区住房和城乡建设局 → 区交通运输局：属交通"
    )
    assert moved.detail == {
        "topic": {"from": "城乡建设", "to": "交通运输"},
        "department": {"from": "区住房和城乡建设局", "to": "区交通运输局"},
    }
    only_topic = decide(before, cmd(Action.ASSIGN, Role.STAFF, topic="交通运输"))
    assert only_topic.reason == "调整案件分类或承办部门：类别 城乡建设 → 交通运输"
    assert only_topic.detail["department"] == {"from": "区住房和城乡建设局", "to": "区住房和城乡建设局"}
    same = cmd(Action.ASSIGN, Role.STAFF, topic="城乡建设", department="区住房和城乡建设局")
    assert refused(before, same).code == "assign_unchanged"
    assert refused(before, cmd(Action.ASSIGN, Role.STAFF)).code == "assign_unchanged"


def test_the_author_of_a_reply_may_not_approve_it_unless_the_deployment_allows_it():
    by_staff = cmd(Action.RECORD_REPLY, Role.STAFF, reason="已修复")
    facts, _ = run(new_case(CaseState.IN_PROGRESS), by_staff)
    assert facts.pending_reply_by == "staff-1"
    own = cmd(Action.APPROVE_REPLY, Role.STAFF)  # actor staff-1, the author
    error = refused(facts, own)
    assert error.code == "same_person" and "另一位工作人员" in error.message
    assert Action.APPROVE_REPLY not in allowed_actions(facts, Role.STAFF, actor="staff-1")
    assert Action.APPROVE_REPLY in allowed_actions(facts, Role.STAFF, actor="staff-2")
    assert decide(facts, Command(Action.APPROVE_REPLY, Role.STAFF, "staff-2")).to_state is CaseState.REPLIED
    allowed = Policy(same_person_may_approve=True)
    assert decide(facts, own, allowed).to_state is CaseState.REPLIED
    assert Action.APPROVE_REPLY in allowed_actions(facts, Role.STAFF, actor="staff-1", policy=allowed)
    # Sending it back is no approval: the author may withdraw their own draft.
    sent_back, _ = run(facts, cmd(Action.SEND_BACK_REPLY, Role.STAFF, reason="再核实"))
    assert sent_back.pending_reply_by is None and not sent_back.pending_reply


def test_an_escalated_case_takes_the_committees_follow_up_and_then_closes():
    escalated = new_case(CaseState.ESCALATED, replies_approved=2, unsatisfied_ratings=2, rated_current_reply=True)
    assert allowed_actions(escalated, Role.STAFF) == [Action.RECORD_COMMITTEE_ACTION]
    assert allowed_actions(escalated, Role.DEPARTMENT) == allowed_actions(escalated, Role.CITIZEN) == []
    close = cmd(Action.CLOSE, Role.STAFF, reason="已解决")
    error = refused(escalated, close)
    assert error.code == "no_committee_action" and "约见、评议或询问" in error.message
    assert refused(escalated, cmd(Action.RECORD_COMMITTEE_ACTION, Role.STAFF, reason="x")).code == (
        "bad_committee_kind"
    )
    assert refused(escalated, cmd(Action.RECORD_COMMITTEE_ACTION, Role.STAFF, kind="视察", reason="x")).code == (
        "bad_committee_kind"
    )
    missing = refused(escalated, cmd(Action.RECORD_COMMITTEE_ACTION, Role.STAFF, kind="约见", reason=" "))
    assert missing.code == "outcome_required" and "约见" in missing.message
    assert refused(escalated, cmd(Action.RECORD_COMMITTEE_ACTION, Role.DEPARTMENT, kind="约见", reason="x")).code == (
        "forbidden_role"
    )
    assert refused(escalated, cmd(Action.TRANSFER, Role.STAFF)).code == "final_state"
    met = cmd(Action.RECORD_COMMITTEE_ACTION, Role.STAFF, kind="约见", reason="区住建局承诺月底前更换全部路灯")
    facts, ts = run(escalated, met)
    assert facts.state is CaseState.ESCALATED and facts.committee_actions == 1
    assert ts[0].reason == "人大常委会约见：区住建局承诺月底前更换全部路灯"
    assert ts[0].kind == "约见" and ts[0].detail == {"kind": "约见", "outcome": "区住建局承诺月底前更换全部路灯"}
    assert "committee_outcome" in ts[0].effects
    assert allowed_actions(facts, Role.STAFF) == [Action.CLOSE, Action.RECORD_COMMITTEE_ACTION]
    closed, ts = run(facts, cmd(Action.CLOSE, Role.STAFF))
    assert closed.state is CaseState.CLOSED and ts[0].reason == "人大常委会跟进后办结"
    assert allowed_actions(closed, Role.STAFF) == []
    assert [k for k in COMMITTEE_KINDS] == ["约见", "评议", "询问"]


def test_a_split_closes_the_case_and_names_its_parts():
    facts = new_case(CaseState.TRANSFERRED)
    assert refused(facts, cmd(Action.SPLIT, Role.STAFF, parts=TWO_PARTS[:1])).code == "split_too_few"
    empty = (*TWO_PARTS, SplitPart(" ", "环境保护"))
    assert refused(facts, cmd(Action.SPLIT, Role.STAFF, parts=empty)).code == "split_part_empty"
    assert refused(facts, cmd(Action.SPLIT, Role.DEPARTMENT, parts=TWO_PARTS)).code == "forbidden_role"
    assert refused(new_case(CaseState.REPLIED), cmd(Action.SPLIT, Role.STAFF, parts=TWO_PARTS)).code == "wrong_state"
    split = decide(facts, cmd(Action.SPLIT, Role.STAFF, parts=TWO_PARTS, reason="涉及两个部门"))
    assert split.to_state is CaseState.CLOSED and {"split_into_parts", "notify_department"} <= split.effects
    assert split.reason == "拆分为2件分别办理（城乡建设、交通运输）：涉及两个部门"
    named = numbered_split(split, [OTHER, "LL20261122003"])
    assert named.reason == f"拆分为 {OTHER}（城乡建设）、LL20261122003（交通运输） 分别办理：涉及两个部门"
    assert named.split_into == (OTHER, "LL20261122003")
    assert [p["case_no"] for p in named.detail["parts"]] == [OTHER, "LL20261122003"]
    with pytest.raises(ValueError):
        numbered_split(split, [OTHER])
    assert "notify_department" not in decide(new_case(), cmd(Action.SPLIT, Role.STAFF, parts=TWO_PARTS)).effects


def test_acknowledge_only_from_transferred():
    assert refused(new_case(CaseState.REHANDLING), ACK).code == "wrong_state"
    assert refused(new_case(CaseState.TRANSFERRED), cmd(Action.ACKNOWLEDGE, Role.STAFF)).code == "forbidden_role"


def test_role_messages_name_who_may():
    assert refused(new_case(CaseState.IN_PROGRESS), cmd(Action.RECORD_REPLY, Role.CITIZEN)).message == (
        "只有承办部门或工作人员可以录入答复。"
    )
    assert refused(new_case(), cmd(Action.ANSWER_ON_SPOT, Role.CITIZEN, answer="x")).message == (
        "只有人大代表或工作人员可以当场答复。"
    )


@pytest.mark.parametrize("state", sorted(ENDED_STATES))
@pytest.mark.parametrize("action", list(Action))
def test_nothing_is_allowed_from_a_final_state(state, action):
    facts = new_case(state, pending_reply=True)
    for role in Role:
        assert allowed_actions(facts, role) == []
        error = refused(
            facts,
            cmd(action, role, reason="x", rating="满意", merged_into=OTHER, answer="x", level="市", kind="约见"),
        )
        assert error.code == "final_state"
        assert error.message.startswith(f"案件 {NUMBER} 已")


def test_allowed_actions_for_a_console():
    facts = new_case()
    assert allowed_actions(facts, Role.STAFF) == [
        Action.ASSIGN,
        Action.TRANSFER,
        Action.CLOSE,
        Action.REJECT,
        Action.WITHDRAW,
        Action.MERGE,
        Action.ESCALATE,
        Action.ANSWER_ON_SPOT,
        Action.SPLIT,
    ]
    assert allowed_actions(facts, Role.ADMIN) == allowed_actions(facts, Role.STAFF)
    assert allowed_actions(facts, Role.CITIZEN) == [Action.WITHDRAW, Action.ADD_INFO]
    assert allowed_actions(facts, Role.DEPUTY) == [Action.ANSWER_ON_SPOT]
    assert allowed_actions(facts, Role.SYSTEM) == []
    assert allowed_actions(new_case(CaseState.REPLIED), Role.CITIZEN) == [Action.RATE, Action.WITHDRAW, Action.ADD_INFO]
    assert allowed_actions(new_case(CaseState.REPLIED), Role.SYSTEM) == [Action.CLOSE_UNRATED]
    assert Action.APPROVE_REPLY in allowed_actions(new_case(CaseState.IN_PROGRESS, pending_reply=True), Role.STAFF)
    assert Action.APPROVE_REPLY not in allowed_actions(new_case(CaseState.IN_PROGRESS), Role.STAFF)


def test_apply_refuses_a_stale_transition():
    transition = decide(new_case(), TRANSFER)
    with pytest.raises(ValueError):
        apply(new_case(CaseState.IN_PROGRESS), transition)


# --- properties

commands = st.builds(
    Command,
    action=st.sampled_from(list(Action)),
    role=st.sampled_from(list(Role)),
    actor=st.just("someone"),
    reason=st.sampled_from(["", " ", "原因"]),
    rating=st.sampled_from([None, *RATINGS, "很好"]),
    merged_into=st.sampled_from([None, "", NUMBER, OTHER]),
    answer=st.sampled_from([None, "", "已答复"]),
    level=st.sampled_from([None, "区县", "市", "省"]),
    is_own_case=st.booleans(),
    kind=st.sampled_from([None, "约见", "视察"]),
    topic=st.sampled_from([None, "交通运输"]),
    parts=st.sampled_from([(), TWO_PARTS[:1], TWO_PARTS]),
)


def well_formed(action: Action, role: Role, rating: str = "满意") -> Command:
    """A command that carries everything `action` can need."""
    return Command(
        action=action,
        role=role,
        # The one who records a reply is never the one who approves it.
        actor=f"someone-{action.value}",
        reason="原因",
        rating=rating,
        merged_into=OTHER,
        answer="已答复",
        level="市",
        is_own_case=True,
        kind="评议",
        topic="交通运输",
        parts=TWO_PARTS,
    )


def may_act_from(state: CaseState, action: Action) -> bool:
    """A final state allows only what its rule names (an escalated case: the committee's follow-up, closing)."""
    return state not in FINAL_STATES or state in RULES[action].from_states


def check_step(before: CaseFacts, command: Command) -> CaseFacts:
    """Decide and apply one command, checking every property of a single step; returns the facts after it.

    A refused command returns `before` itself: refusals change nothing.
    """
    snapshot = replace(before)
    try:
        transition = decide(before, command)
    except IllegalTransition as error:
        assert before == snapshot
        assert error.code and error.message
        assert command.action not in allowed_actions(before, command.role) or error.code in (
            "reason_required",
            "not_own_case",
            "bad_rating",
            "bad_merge",
            "bad_level",
            "answer_required",
            "same_person",
            "bad_committee_kind",
            "outcome_required",
            "assign_unchanged",
            "split_too_few",
            "split_part_empty",
        )
        if not may_act_from(before.state, command.action):
            assert error.code == "final_state"
        return before
    after = apply(before, transition)
    rule_ = RULES[command.action]
    assert may_act_from(before.state, command.action)
    assert command.role in rule_.roles
    assert command.action in allowed_actions(before, command.role)
    assert transition.from_state is before.state and before.state in rule_.from_states
    if rule_.to_states is None:
        assert transition.to_state is before.state
    else:
        assert transition.to_state in rule_.to_states
    allowed_targets = RULES[command.action].to_states
    assert after.state in (allowed_targets if allowed_targets is not None else {before.state})
    assert transition.reason.strip()
    if command.action is Action.APPROVE_REPLY:
        assert after.replies_approved == before.replies_approved + 1
        assert transition.reply_number == after.replies_approved
    else:
        assert after.replies_approved == before.replies_approved
    if command.action is Action.RATE and command.rating == "不满意":
        assert after.unsatisfied_ratings == before.unsatisfied_ratings + 1
        assert after.state is (CaseState.ESCALATED if after.unsatisfied_ratings == 2 else CaseState.REHANDLING)
    assert after.unsatisfied_ratings <= 2
    return after


@settings(max_examples=300)
@given(start=st.sampled_from(list(CaseState)), pending=st.booleans(), sequence=st.lists(commands, max_size=40))
def test_random_commands_from_any_state(start, pending, sequence):
    facts = new_case(start, pending_reply=pending)
    for command in sequence:
        facts = check_step(facts, command)
    # Ended, or still open with a way forward for the staff (whose case gets its deadlines).
    assert facts.state in FINAL_STATES or allowed_actions(facts, Role.STAFF)


@given(
    facts=st.builds(
        CaseFacts,
        state=st.sampled_from(sorted(ENDED_STATES)),
        number=st.just(NUMBER),
        pending_reply=st.booleans(),
        replies_approved=st.integers(0, 3),
        unsatisfied_ratings=st.integers(0, 2),
        rated_current_reply=st.booleans(),
    ),
    command=commands,
)
def test_from_final_states_nothing_is_allowed(facts, command):
    with pytest.raises(IllegalTransition) as info:
        decide(facts, command)
    assert info.value.code == "final_state"
    assert allowed_actions(facts, command.role) == []


@given(state=st.sampled_from(sorted(OPEN_STATES)), pending=st.booleans(), rated=st.booleans())
def test_every_open_state_has_a_way_out(state, pending, rated):
    facts = new_case(state, pending_reply=pending, rated_current_reply=rated)
    offered = allowed_actions(facts, Role.STAFF)
    assert Action.CLOSE in offered and Action.WITHDRAW in offered and Action.ESCALATE in offered
    for action in offered:  # everything offered succeeds with a well-formed command
        assert decide(facts, well_formed(action, Role.STAFF)).to_state in CaseState


EXITS = {Action.CLOSE, Action.CLOSE_UNRATED, Action.REJECT, Action.WITHDRAW, Action.MERGE, Action.ESCALATE}


class CaseMachine(RuleBasedStateMachine):
    """Drives one case mostly through offered actions (so it gets deep), with random noise in between."""

    def __init__(self):
        super().__init__()
        self.facts = new_case()
        self.history: list[Transition] = []

    @rule(role=st.sampled_from(list(Role)), pick=st.integers(0, 20), rating=st.sampled_from(RATINGS))
    def offered_action(self, role, pick, rating):
        offered = allowed_actions(self.facts, role)
        if not offered:
            return
        command = self.well_formed(offered[pick % len(offered)], role, rating)
        before = self.facts
        transition = decide(before, command)  # offered + well formed: never refused
        self.facts = check_step(before, command)
        self.history.append(transition)

    @rule(
        role=st.sampled_from(list(Role)),
        pick=st.integers(0, 20),
        rating=st.sampled_from(["不满意", "不满意", "满意", "基本满意"]),
    )
    def move_forward(self, role, pick, rating):
        """Like offered_action without the exits, so that cases reach rehandling and the second rating."""
        offered = [a for a in allowed_actions(self.facts, role) if a not in EXITS]
        if not offered:
            return
        command = self.well_formed(offered[pick % len(offered)], role, rating)
        transition = decide(self.facts, command)
        self.facts = check_step(self.facts, command)
        self.history.append(transition)

    def well_formed(self, action: Action, role: Role, rating: str) -> Command:
        """`well_formed`, assigning the case to a topic other than its own."""
        command = well_formed(action, role, rating)
        return replace(command, topic="环境保护" if self.facts.topic == "交通运输" else "交通运输")

    @rule(command=commands)
    def any_command(self, command):
        before = self.facts
        try:
            transition = decide(before, command)
        except IllegalTransition:
            assert self.facts == before
            return
        self.facts = check_step(before, command)
        self.history.append(transition)

    @invariant()
    def state_is_known(self):
        assert self.facts.state in CaseState
        assert self.facts.state in FINAL_STATES or allowed_actions(self.facts, Role.STAFF)

    @invariant()
    def ratings_are_bounded(self):
        assert 0 <= self.facts.unsatisfied_ratings <= 2
        if self.facts.unsatisfied_ratings == 2:
            # Escalated by the second 不满意; afterwards only the committee's follow-up and the closing.
            escalation = next(i for i, t in enumerate(self.history) if t.to_state is CaseState.ESCALATED)
            assert self.history[escalation].action is Action.RATE
            after = {t.action for t in self.history[escalation + 1 :]}
            assert after <= {Action.RECORD_COMMITTEE_ACTION, Action.CLOSE}
            assert self.facts.state in (CaseState.ESCALATED, CaseState.CLOSED)

    @invariant()
    def replies_match_approvals(self):
        approvals = sum(1 for t in self.history if t.action is Action.APPROVE_REPLY)
        assert self.facts.replies_approved == approvals

    @invariant()
    def history_is_chained(self):
        state = CaseState.RECEIVED
        for t in self.history:
            assert t.from_state is state
            state = t.to_state
        assert state is self.facts.state
        assert all(may_act_from(t.from_state, t.action) for t in self.history)


TestCaseMachine = CaseMachine.TestCase
TestCaseMachine.settings = settings(max_examples=200, stateful_step_count=40)
