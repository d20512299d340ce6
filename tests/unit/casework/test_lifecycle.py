from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from casework.cases import CaseState, Role
from casework.lifecycle import (
    FINAL_STATES,
    OPEN_STATES,
    RATINGS,
    RULES,
    Action,
    CaseFacts,
    Command,
    IllegalTransition,
    Transition,
    allowed_actions,
    apply,
    decide,
)

NUMBER = "LL20261122001"
OTHER = "LL20261122002"


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
    facts, ts = run(new_case(CaseState.TRANSFERRED), cmd(Action.ASSIGN, Role.STAFF, reason="改为交通运输类"))
    assert facts.state is CaseState.TRANSFERRED and {"reassigned", "notify_department"} <= ts[0].effects
    facts, ts = run(facts, cmd(Action.ADD_INFO, Role.CITIZEN, reason="补充照片"))
    assert facts.state is CaseState.TRANSFERRED and "notify_department" in ts[0].effects
    assert ts[0].reason == "群众补充情况：补充照片"
    assert refused(facts, cmd(Action.ADD_INFO, Role.DEPARTMENT)).code == "forbidden_role"
    assert refused(facts, cmd(Action.ASSIGN, Role.DEPUTY)).code == "forbidden_role"


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


@pytest.mark.parametrize("state", sorted(FINAL_STATES))
@pytest.mark.parametrize("action", list(Action))
def test_nothing_is_allowed_from_a_final_state(state, action):
    facts = new_case(state, pending_reply=True)
    for role in Role:
        assert allowed_actions(facts, role) == []
        error = refused(facts, cmd(action, role, reason="x", rating="满意", merged_into=OTHER, answer="x", level="市"))
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
)


def well_formed(action: Action, role: Role, rating: str = "满意") -> Command:
    """A command that carries everything `action` can need."""
    return Command(
        action=action,
        role=role,
        actor="someone",
        reason="原因",
        rating=rating,
        merged_into=OTHER,
        answer="已答复",
        level="市",
        is_own_case=True,
    )


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
        )
        if before.state in FINAL_STATES:
            assert error.code == "final_state"
        return before
    after = apply(before, transition)
    rule_ = RULES[command.action]
    assert before.state not in FINAL_STATES
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
        state=st.sampled_from(sorted(FINAL_STATES)),
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
        command = well_formed(offered[pick % len(offered)], role, rating)
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
        command = well_formed(offered[pick % len(offered)], role, rating)
        transition = decide(self.facts, command)
        self.facts = check_step(self.facts, command)
        self.history.append(transition)

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
            assert self.facts.state is CaseState.ESCALATED
            assert self.history[-1].action is Action.RATE

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
        assert all(t.from_state not in FINAL_STATES for t in self.history)


TestCaseMachine = CaseMachine.TestCase
TestCaseMachine.settings = settings(max_examples=200, stateful_step_count=40)
