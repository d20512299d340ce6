"""The case lifecycle after registration: one explicit state machine, pure functions, no I/O.

How callers use it:

1. Load what the machine needs to know about a case into `CaseFacts`.
2. Build a `Command` from the request (who does what, with which reason or rating).
3. `decide(facts, command)` returns a `Transition` or raises `IllegalTransition`, whose `code` is
   stable for programs and whose `message` is Simplified Chinese, fit to show to staff or citizens.
4. Record the transition as an event (who = `command.actor`, from, to, `transition.reason`), carry
   out `transition.effects`, and store `apply(facts, transition)` as the case's new facts.

What the machine does NOT check, because it does not know it: whether a department acts on a case
assigned to it, whether the merge target exists, where an assigned case goes. The caller checks
those before calling `decide`. A citizen's ownership of the case is passed as
`Command.is_own_case`.

The rules are in `RULES` (action -> roles allowed, states allowed from, states it may lead to);
the few rules a table cannot say are the small `_check_*` and `_target_*` functions below.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from casework.cases import STATE_LABELS, CaseState, Role
from casework.errors import Refusal


class Action(StrEnum):
    """Every change of a case after registration (registration is `casework.cases.register`)."""

    ASSIGN = "assign"  # change topic / department; state unchanged
    TRANSFER = "transfer"  # received -> transferred to the department
    ACKNOWLEDGE = "acknowledge"  # the department signs for it: transferred -> in_progress
    RECORD_REPLY = "record_reply"  # a reply is written, awaiting review; state unchanged
    APPROVE_REPLY = "approve_reply"  # staff approve the pending reply: -> replied, sent to the citizen
    SEND_BACK_REPLY = "send_back_reply"  # staff send the pending reply back; state unchanged
    RATE = "rate"  # the citizen rates the reply: 满意 / 基本满意 / 不满意
    CLOSE_UNRATED = "close_unrated"  # no rating in time: closed as unrated, never as satisfied
    CLOSE = "close"  # staff close the case
    REJECT = "reject"  # 不予受理
    WITHDRAW = "withdraw"  # 撤回, by the citizen or staff on their behalf
    MERGE = "merge"  # closed as a duplicate of another case
    ESCALATE = "escalate"  # up to the county (区县) or city (市) congress
    ANSWER_ON_SPOT = "answer_on_spot"  # a deputy (or staff) answered at once
    ADD_INFO = "add_info"  # the citizen adds information; state unchanged


RATINGS = ("满意", "基本满意", "不满意")
SATISFIED = frozenset({"满意", "基本满意"})
UNSATISFIED = "不满意"
ESCALATION_LEVELS = ("区县", "市")
UNRATED_REASON = "逾期未评价"

OPEN_STATES = frozenset({
    CaseState.RECEIVED,
    CaseState.TRANSFERRED,
    CaseState.IN_PROGRESS,
    CaseState.REPLIED,
    CaseState.REHANDLING,
    CaseState.ANSWERED_ON_SPOT,
})
FINAL_STATES = frozenset({CaseState.CLOSED, CaseState.ESCALATED, CaseState.REJECTED, CaseState.WITHDRAWN})
# States in which the department holds the case (it must hear about changes).
WITH_DEPARTMENT = frozenset({CaseState.TRANSFERRED, CaseState.IN_PROGRESS, CaseState.REHANDLING})
# States in which the citizen has an answer to rate.
AWAITING_RATING = frozenset({CaseState.REPLIED, CaseState.ANSWERED_ON_SPOT})

# Effects: what the caller must do beyond recording the event.
REPLY_PENDING = "reply_pending"
REPLY_SENT_TO_CITIZEN = "reply_sent_to_citizen"
REPLY_SENT_BACK = "reply_sent_back"
RATING_RECORDED = "rating_recorded"
RATING_REQUESTED = "rating_requested"
NOTIFY_DEPARTMENT = "notify_department"
NOTIFY_STAFF = "notify_staff"
ANSWER_RECORDED = "answer_recorded"
REASSIGNED = "reassigned"


@dataclass(frozen=True)
class CaseFacts:
    """What the machine needs to know about a case beyond its state.

    `pending_reply`: a reply was recorded and awaits review. `replies_approved`: replies sent to the
    citizen so far (an on-the-spot answer is not counted). `unsatisfied_ratings`: 不满意 ratings so far.
    `rated_current_reply`: the latest answer (approved reply or on-the-spot answer) was rated.
    """

    state: CaseState
    number: str
    pending_reply: bool = False
    replies_approved: int = 0
    unsatisfied_ratings: int = 0
    rated_current_reply: bool = False


@dataclass(frozen=True)
class Command:
    """A request to change a case. `actor` is who does it (a user id, "system"...), recorded on the event.

    `reason`: why (required for send_back_reply, reject, withdraw, escalate and for closing a case
    that has no answer yet); for `rate` it is the citizen's comment, for `add_info` the added text.
    `rating` for rate, `merged_into` for merge, `answer` for answer_on_spot, `level` for escalate.
    `is_own_case` matters only for citizens: whether the case is theirs.
    """

    action: Action
    role: Role
    actor: str
    reason: str = ""
    rating: str | None = None
    merged_into: str | None = None
    answer: str | None = None
    level: str | None = None
    is_own_case: bool = True


@dataclass(frozen=True)
class Transition:
    """An allowed change, ready to be recorded as an event.

    `reason` is never empty. `effects` name what the caller must do besides recording the event
    (see the module constants). `rating`, `level`, `merged_into` and `reply_number` (the Nth reply
    sent, for approve_reply) repeat what the caller has to store with the event.
    """

    action: Action
    from_state: CaseState
    to_state: CaseState
    reason: str
    effects: frozenset[str] = frozenset()
    rating: str | None = None
    level: str | None = None
    merged_into: str | None = None
    reply_number: int | None = None


class IllegalTransition(Refusal):
    """A refused command. `code` is stable for programs; `message` is Chinese, for people."""

    def __init__(self, code: str, message: str, action: Action | None = None, state: CaseState | None = None):
        super().__init__(code, message)
        self.action = action
        self.state = state


@dataclass(frozen=True)
class Rule:
    """Who may do an action, from which states, and which states it may lead to (None: state unchanged)."""

    roles: frozenset[Role]
    from_states: frozenset[CaseState]
    to_states: frozenset[CaseState] | None


def _roles(*roles: Role) -> frozenset[Role]:
    """Admin may do everything staff may."""
    found = set(roles)
    if Role.STAFF in found:
        found.add(Role.ADMIN)
    return frozenset(found)


def _states(*states: CaseState) -> frozenset[CaseState]:
    return frozenset(states)


_S = CaseState
RULES: dict[Action, Rule] = {
    Action.ASSIGN: Rule(_roles(Role.STAFF), _states(_S.RECEIVED, _S.TRANSFERRED, _S.IN_PROGRESS, _S.REHANDLING),
                        None),
    Action.TRANSFER: Rule(_roles(Role.STAFF), _states(_S.RECEIVED), _states(_S.TRANSFERRED)),
    Action.ACKNOWLEDGE: Rule(_roles(Role.DEPARTMENT), _states(_S.TRANSFERRED), _states(_S.IN_PROGRESS)),
    Action.RECORD_REPLY: Rule(_roles(Role.DEPARTMENT, Role.STAFF), _states(_S.IN_PROGRESS, _S.REHANDLING), None),
    Action.APPROVE_REPLY: Rule(_roles(Role.STAFF), _states(_S.IN_PROGRESS, _S.REHANDLING), _states(_S.REPLIED)),
    Action.SEND_BACK_REPLY: Rule(_roles(Role.STAFF), _states(_S.IN_PROGRESS, _S.REHANDLING), None),
    Action.RATE: Rule(_roles(Role.CITIZEN), AWAITING_RATING, _states(_S.CLOSED, _S.REHANDLING, _S.ESCALATED)),
    Action.CLOSE_UNRATED: Rule(_roles(Role.SYSTEM), AWAITING_RATING, _states(_S.CLOSED)),
    Action.CLOSE: Rule(_roles(Role.STAFF), OPEN_STATES, _states(_S.CLOSED)),
    Action.REJECT: Rule(_roles(Role.STAFF), _states(_S.RECEIVED, _S.TRANSFERRED), _states(_S.REJECTED)),
    Action.WITHDRAW: Rule(_roles(Role.CITIZEN, Role.STAFF), OPEN_STATES, _states(_S.WITHDRAWN)),
    Action.MERGE: Rule(_roles(Role.STAFF), OPEN_STATES, _states(_S.CLOSED)),
    Action.ESCALATE: Rule(_roles(Role.STAFF), OPEN_STATES, _states(_S.ESCALATED)),
    Action.ANSWER_ON_SPOT: Rule(_roles(Role.DEPUTY, Role.STAFF), _states(_S.RECEIVED, _S.TRANSFERRED),
                                _states(_S.ANSWERED_ON_SPOT)),
    Action.ADD_INFO: Rule(_roles(Role.CITIZEN), OPEN_STATES, None),
}
del _S

# Chinese wording: "只有{roles}可以{verb}。", "当前状态为“{state}”，不能{verb}。"
ACTION_VERBS = {
    Action.ASSIGN: "调整案件分类或承办部门",
    Action.TRANSFER: "转办案件",
    Action.ACKNOWLEDGE: "签收案件",
    Action.RECORD_REPLY: "录入答复",
    Action.APPROVE_REPLY: "审核答复",
    Action.SEND_BACK_REPLY: "退回答复",
    Action.RATE: "评价",
    Action.CLOSE_UNRATED: "按逾期未评价办结案件",
    Action.CLOSE: "办结案件",
    Action.REJECT: "作不予受理处理",
    Action.WITHDRAW: "撤回案件",
    Action.MERGE: "合并案件",
    Action.ESCALATE: "升级案件",
    Action.ANSWER_ON_SPOT: "当场答复",
    Action.ADD_INFO: "补充情况",
}
ROLE_LABELS = {
    Role.CITIZEN: "反映人本人",
    Role.STAFF: "工作人员",
    Role.DEPARTMENT: "承办部门",
    Role.DEPUTY: "人大代表",
    Role.ADMIN: "管理员",
    Role.SYSTEM: "系统",
}
# How a final state reads in "案件 X 已办结，不能再评价。"
FINAL_PHRASES = {
    CaseState.CLOSED: "已办结",
    CaseState.ESCALATED: "已升级至上级人大",
    CaseState.REJECTED: "已不予受理",
    CaseState.WITHDRAWN: "已撤回",
}
_ROLE_ORDER = (Role.CITIZEN, Role.DEPUTY, Role.DEPARTMENT, Role.STAFF, Role.SYSTEM, Role.ADMIN)


def _who(roles: frozenset[Role]) -> str:
    """'承办部门或工作人员'; admin is implied by staff and not named beside it."""
    shown = [r for r in _ROLE_ORDER if r in roles and not (r is Role.ADMIN and Role.STAFF in roles)]
    return "或".join(ROLE_LABELS[r] for r in shown)


def _refuse(code: str, message: str, facts: CaseFacts, action: Action) -> IllegalTransition:
    return IllegalTransition(code, message, action=action, state=facts.state)


def _basic_refusal(facts: CaseFacts, action: Action, role: Role) -> IllegalTransition | None:
    """The checks that do not depend on what the command carries (used by `allowed_actions` too)."""
    rule = RULES[action]
    verb = ACTION_VERBS[action]
    if facts.state in FINAL_STATES:
        return _refuse("final_state", f"案件 {facts.number} {FINAL_PHRASES[facts.state]}，不能再{verb}。",
                       facts, action)
    if role not in rule.roles:
        return _refuse("forbidden_role", f"只有{_who(rule.roles)}可以{verb}。", facts, action)
    if action is Action.RATE and facts.rated_current_reply:
        return _refuse("already_rated", f"案件 {facts.number} 的本次答复已经评价过，不能重复评价。", facts, action)
    if facts.state not in rule.from_states:
        return _refuse("wrong_state", f"当前状态为“{STATE_LABELS[facts.state]}”，不能{verb}。", facts, action)
    if action in (Action.APPROVE_REPLY, Action.SEND_BACK_REPLY) and not facts.pending_reply:
        return _refuse("no_pending_reply", f"案件 {facts.number} 没有待审核的答复，不能{verb}。", facts, action)
    if action is Action.RECORD_REPLY and facts.pending_reply:
        return _refuse("reply_already_pending",
                       f"案件 {facts.number} 已有一份答复待审核，请先审核或退回后再录入。", facts, action)
    return None


def _text(value: str | None) -> str:
    return (value or "").strip()


def _require_reason(facts: CaseFacts, command: Command, what: str) -> str:
    reason = _text(command.reason)
    if not reason:
        raise _refuse("reason_required", f"{what}必须填写原因。", facts, command.action)
    return reason


def _with_note(base: str, note: str) -> str:
    return f"{base}：{note}" if note else base


def decide(facts: CaseFacts, command: Command) -> Transition:
    """The transition `command` makes on a case with `facts`, or IllegalTransition.

    Checks in order: final state, role, the citizen's own case, the rating's value, whether the current
    answer was already rated, the from-state, the pending reply, then the command's required fields.
    """
    action, role = command.action, command.role
    refusal = _basic_refusal(facts, action, role)
    if refusal is not None and refusal.code in ("final_state", "forbidden_role"):
        raise refusal
    if role is Role.CITIZEN and not command.is_own_case:
        raise _refuse("not_own_case", f"案件 {facts.number} 不是您反映的，您不能{ACTION_VERBS[action]}。",
                      facts, action)
    if action is Action.RATE and command.rating not in RATINGS:
        raise _refuse("bad_rating", "请选择评价：满意、基本满意或不满意。", facts, action)
    if refusal is not None:
        raise refusal
    return _BUILDERS[action](facts, command)


def _same(facts: CaseFacts, command: Command, reason: str, effects: set[str] | frozenset[str] = frozenset(),
          **extra: Any) -> Transition:
    return Transition(command.action, facts.state, facts.state, reason, frozenset(effects), **extra)


def _to(facts: CaseFacts, command: Command, target: CaseState, reason: str,
        effects: set[str] | frozenset[str] = frozenset(), **extra: Any) -> Transition:
    return Transition(command.action, facts.state, target, reason, frozenset(effects), **extra)


def _assign(facts: CaseFacts, command: Command) -> Transition:
    effects = {REASSIGNED} | ({NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else set())
    return _same(facts, command, _with_note("调整案件分类或承办部门", _text(command.reason)), effects)


def _transfer(facts: CaseFacts, command: Command) -> Transition:
    return _to(facts, command, CaseState.TRANSFERRED, _with_note("转承办部门办理", _text(command.reason)),
               {NOTIFY_DEPARTMENT})


def _acknowledge(facts: CaseFacts, command: Command) -> Transition:
    return _to(facts, command, CaseState.IN_PROGRESS, _with_note("承办部门已签收，开始办理", _text(command.reason)))


def _record_reply(facts: CaseFacts, command: Command) -> Transition:
    who = "承办部门" if command.role is Role.DEPARTMENT else "工作人员"
    base = f"{who}提交第{facts.replies_approved + 1}次答复，待审核"
    return _same(facts, command, _with_note(base, _text(command.reason)), {REPLY_PENDING})


def _approve_reply(facts: CaseFacts, command: Command) -> Transition:
    number = facts.replies_approved + 1
    reason = _with_note(f"第{number}次答复审核通过，已发送群众", _text(command.reason))
    return _to(facts, command, CaseState.REPLIED, reason, {REPLY_SENT_TO_CITIZEN, RATING_REQUESTED},
               reply_number=number)


def _send_back_reply(facts: CaseFacts, command: Command) -> Transition:
    reason = _require_reason(facts, command, "退回答复")
    return _same(facts, command, f"答复退回修改：{reason}", {REPLY_SENT_BACK, NOTIFY_DEPARTMENT})


def _rate(facts: CaseFacts, command: Command) -> Transition:
    rating = command.rating
    comment = _text(command.reason)
    base = f"群众评价：{rating}"
    if rating in SATISFIED:
        return _to(facts, command, CaseState.CLOSED, _with_note(base, comment), {RATING_RECORDED}, rating=rating)
    if facts.unsatisfied_ratings == 0:
        reason = _with_note(f"{base}，转承办部门重新办理", comment)
        return _to(facts, command, CaseState.REHANDLING, reason, {RATING_RECORDED, NOTIFY_DEPARTMENT}, rating=rating)
    reason = _with_note(f"{base}（第{facts.unsatisfied_ratings + 1}次），案件升级", comment)
    return _to(facts, command, CaseState.ESCALATED, reason, {RATING_RECORDED, NOTIFY_STAFF}, rating=rating)


def _close_unrated(facts: CaseFacts, command: Command) -> Transition:
    return _to(facts, command, CaseState.CLOSED, UNRATED_REASON)


def _close(facts: CaseFacts, command: Command) -> Transition:
    if facts.state in AWAITING_RATING:
        return _to(facts, command, CaseState.CLOSED, _with_note("工作人员办结", _text(command.reason)))
    reason = _require_reason(facts, command, f"案件尚未答复（当前状态为“{STATE_LABELS[facts.state]}”），办结")
    return _to(facts, command, CaseState.CLOSED, f"工作人员办结：{reason}",
               {NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else frozenset())


def _reject(facts: CaseFacts, command: Command) -> Transition:
    reason = _require_reason(facts, command, "不予受理")
    return _to(facts, command, CaseState.REJECTED, f"不予受理：{reason}",
               {NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else frozenset())


def _withdraw(facts: CaseFacts, command: Command) -> Transition:
    reason = _require_reason(facts, command, "撤回案件")
    who = "群众撤回" if command.role is Role.CITIZEN else "工作人员代群众撤回"
    return _to(facts, command, CaseState.WITHDRAWN, f"{who}：{reason}",
               {NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else frozenset())


def _merge(facts: CaseFacts, command: Command) -> Transition:
    target = _text(command.merged_into).upper()
    if not target:
        raise _refuse("bad_merge", "请填写要并入的案件编号。", facts, command.action)
    if target == facts.number.strip().upper():
        raise _refuse("bad_merge", f"案件 {facts.number} 不能并入自身。", facts, command.action)
    return _to(facts, command, CaseState.CLOSED, _with_note(f"并入 {target}", _text(command.reason)),
               {NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else frozenset(), merged_into=target)


def _escalate(facts: CaseFacts, command: Command) -> Transition:
    level = _text(command.level)
    if level not in ESCALATION_LEVELS:
        raise _refuse("bad_level", "请选择升级层级：区县或市。", facts, command.action)
    reason = _require_reason(facts, command, "升级案件")
    return _to(facts, command, CaseState.ESCALATED, f"升级至{level}人大：{reason}", {NOTIFY_STAFF}, level=level)


def _answer_on_spot(facts: CaseFacts, command: Command) -> Transition:
    answer = _text(command.answer)
    if not answer:
        raise _refuse("answer_required", "当场答复必须填写答复内容。", facts, command.action)
    who = "人大代表" if command.role is Role.DEPUTY else "工作人员"
    # A department already holding the case must hear that it was answered.
    department = {NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else set()
    return _to(facts, command, CaseState.ANSWERED_ON_SPOT, f"{who}当场答复：{answer}",
               {ANSWER_RECORDED, RATING_REQUESTED} | department)


def _add_info(facts: CaseFacts, command: Command) -> Transition:
    effects = {NOTIFY_STAFF} | ({NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else set())
    return _same(facts, command, _with_note("群众补充情况", _text(command.reason)), effects)


_BUILDERS = {
    Action.ASSIGN: _assign,
    Action.TRANSFER: _transfer,
    Action.ACKNOWLEDGE: _acknowledge,
    Action.RECORD_REPLY: _record_reply,
    Action.APPROVE_REPLY: _approve_reply,
    Action.SEND_BACK_REPLY: _send_back_reply,
    Action.RATE: _rate,
    Action.CLOSE_UNRATED: _close_unrated,
    Action.CLOSE: _close,
    Action.REJECT: _reject,
    Action.WITHDRAW: _withdraw,
    Action.MERGE: _merge,
    Action.ESCALATE: _escalate,
    Action.ANSWER_ON_SPOT: _answer_on_spot,
    Action.ADD_INFO: _add_info,
}


def apply(facts: CaseFacts, transition: Transition) -> CaseFacts:
    """The facts after `transition` (from `decide` on these same facts); raises ValueError on a stale one."""
    if transition.from_state is not facts.state:
        raise ValueError(f"transition from {transition.from_state} applied to a case in {facts.state}")
    after = replace(facts, state=transition.to_state)
    match transition.action:
        case Action.RECORD_REPLY:
            after = replace(after, pending_reply=True)
        case Action.APPROVE_REPLY:
            after = replace(after, pending_reply=False, replies_approved=facts.replies_approved + 1,
                            rated_current_reply=False)
        case Action.SEND_BACK_REPLY:
            after = replace(after, pending_reply=False)
        case Action.RATE:
            unsatisfied = facts.unsatisfied_ratings + (1 if transition.rating == UNSATISFIED else 0)
            after = replace(after, rated_current_reply=True, unsatisfied_ratings=unsatisfied)
        case Action.ANSWER_ON_SPOT:
            after = replace(after, rated_current_reply=False)
    return after


def allowed_actions(facts: CaseFacts, role: Role) -> list[Action]:
    """What a console should offer `role` on this case, in `Action` order.

    An offered action may still be refused for what the command carries (a missing reason, a bad
    rating, a citizen's other case); an action not offered is always refused.
    """
    return [action for action in Action if _basic_refusal(facts, action, role) is None]
