"""The case lifecycle after registration: one explicit state machine, pure functions, no I/O.

How callers use it:

1. Load what the machine needs to know about a case into `CaseFacts`.
2. Build a `Command` from the request (who does what, with which reason or rating).
3. `decide(facts, command)` returns a `Transition` or raises `IllegalTransition`, whose `code` is
   stable for programs and whose `message` is Simplified Chinese, fit to show to staff or citizens.
4. Record the transition as an event (who = `command.actor`, from, to, `transition.reason`), carry
   out `transition.effects`, and store `apply(facts, transition)` as the case's new facts.

What the machine does NOT check, because it does not know it: whether a department acts on a case
assigned to it, whether the merge target exists, whether an assigned or split case's topic and department
exist. The caller checks those before calling `decide`. A citizen's ownership of the case is passed as
`Command.is_own_case`; the deployment's choices (config.yml `cases`) as a `Policy`.

An escalated case (已升级) has left the station's loop (no deadlines, no rating, closed_at set), but it is
not a dead end: staff record what the standing committee did (约见 / 评议 / 询问) and its outcome, then
close it. Those two are the only actions a final state allows, because their rules name 已升级 among
their from-states.

The rules are in `RULES` (action -> roles allowed, states allowed from, states it may lead to);
the few rules a table cannot say are the small `_check_*` and `_target_*` functions below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from casework.cases import STATE_LABELS, CaseState, Role
from casework.errors import Refusal
from texts import citizen as citizen_texts
from texts import staff as texts


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
    SPLIT = "split"  # several problems in one case: closed as split into new cases, one per part
    RECORD_COMMITTEE_ACTION = "record_committee_action"  # after escalation: 约见 / 评议 / 询问 and the outcome


RATINGS = ("满意", "基本满意", "不满意")
SATISFIED = frozenset({"满意", "基本满意"})
UNSATISFIED = "不满意"
ESCALATION_LEVELS = ("区县", "市")
# What the standing committee may do with an escalated case (DESIGN.md: 约见、评议、询问).
COMMITTEE_KINDS = ("约见", "评议", "询问")
UNRATED_REASON = texts.EVENT_CLOSED_UNRATED

OPEN_STATES = frozenset(
    {
        CaseState.RECEIVED,
        CaseState.TRANSFERRED,
        CaseState.IN_PROGRESS,
        CaseState.REPLIED,
        CaseState.REHANDLING,
        CaseState.ANSWERED_ON_SPOT,
    }
)
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
COMMITTEE_OUTCOME = "committee_outcome"  # the citizen (and the deputy following) hear what the committee did
SPLIT_INTO_PARTS = "split_into_parts"  # the caller registers one new case per part


@dataclass(frozen=True)
class Policy:
    """The deployment's choices the rules follow (config.yml `cases`, `settings.deployment.CaseRules`).

    `same_person_may_approve`: whether whoever recorded a reply may also approve it (four eyes by default).
    """

    same_person_may_approve: bool = False


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class SplitPart:
    """One problem of a case being split: its own text, topic, department (its name, for the history) and
    place (empty: the original's)."""

    description: str
    topic: str
    department: str = ""
    place: str = ""


@dataclass(frozen=True)
class CaseFacts:
    """What the machine needs to know about a case beyond its state.

    `pending_reply`: a reply was recorded and awaits review; `pending_reply_by`: who recorded it.
    `replies_approved`: replies sent to the citizen so far (an on-the-spot answer is not counted).
    `unsatisfied_ratings`: 不满意 ratings so far. `rated_current_reply`: the latest answer (approved reply
    or on-the-spot answer) was rated. `committee_actions`: what the standing committee did, recorded since
    the case was escalated. `topic` and `department` (its name): where the case is now, for the history
    of an assignment.
    """

    state: CaseState
    number: str
    pending_reply: bool = False
    replies_approved: int = 0
    unsatisfied_ratings: int = 0
    rated_current_reply: bool = False
    pending_reply_by: str | None = None
    committee_actions: int = 0
    topic: str = ""
    department: str = ""


@dataclass(frozen=True)
class Command:
    """A request to change a case. `actor` is who does it (a user id, "system"...), recorded on the event.

    `reason`: why (required for send_back_reply, reject, withdraw, escalate and for closing a case
    that has no answer yet); for `rate` it is the citizen's comment, for `add_info` the added text, for
    `record_committee_action` the outcome. `rating` for rate, `merged_into` for merge, `answer` for
    answer_on_spot, `level` for escalate, `kind` (约见 / 评议 / 询问) for record_committee_action, `topic`
    and `department` (its name) where assign moves the case, `parts` the problems of a split.
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
    kind: str | None = None
    topic: str | None = None
    department: str | None = None
    parts: tuple[SplitPart, ...] = ()


@dataclass(frozen=True)
class Transition:
    """An allowed change, ready to be recorded as an event.

    `reason` is never empty. `effects` name what the caller must do besides recording the event
    (see the module constants). `rating`, `level`, `merged_into` and `reply_number` (the Nth reply
    sent, for approve_reply) repeat what the caller has to store with the event; `actor` is who acts.
    `detail` is the event's structured record (assign: the topic and department before and after;
    record_committee_action: its kind and outcome; split: its parts and, once registered, their numbers).
    `topic`/`department` where an assignment leaves the case, `kind` the committee's act, `parts` and
    `split_into` (the new cases' numbers, `numbered_split`) a split's.
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
    actor: str = ""
    detail: dict[str, Any] = field(default_factory=dict, compare=False)
    topic: str | None = None
    department: str | None = None
    kind: str | None = None
    parts: tuple[SplitPart, ...] = ()
    split_into: tuple[str, ...] = ()


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
    Action.ASSIGN: Rule(_roles(Role.STAFF), _states(_S.RECEIVED, _S.TRANSFERRED, _S.IN_PROGRESS, _S.REHANDLING), None),
    Action.TRANSFER: Rule(_roles(Role.STAFF), _states(_S.RECEIVED), _states(_S.TRANSFERRED)),
    Action.ACKNOWLEDGE: Rule(_roles(Role.DEPARTMENT), _states(_S.TRANSFERRED), _states(_S.IN_PROGRESS)),
    Action.RECORD_REPLY: Rule(_roles(Role.DEPARTMENT, Role.STAFF), _states(_S.IN_PROGRESS, _S.REHANDLING), None),
    Action.APPROVE_REPLY: Rule(_roles(Role.STAFF), _states(_S.IN_PROGRESS, _S.REHANDLING), _states(_S.REPLIED)),
    Action.SEND_BACK_REPLY: Rule(_roles(Role.STAFF), _states(_S.IN_PROGRESS, _S.REHANDLING), None),
    Action.RATE: Rule(_roles(Role.CITIZEN), AWAITING_RATING, _states(_S.CLOSED, _S.REHANDLING, _S.ESCALATED)),
    Action.CLOSE_UNRATED: Rule(_roles(Role.SYSTEM), AWAITING_RATING, _states(_S.CLOSED)),
    # An escalated case closes once the standing committee's follow-up is recorded (`_basic_refusal`).
    Action.CLOSE: Rule(_roles(Role.STAFF), OPEN_STATES | {_S.ESCALATED}, _states(_S.CLOSED)),
    Action.REJECT: Rule(_roles(Role.STAFF), _states(_S.RECEIVED, _S.TRANSFERRED), _states(_S.REJECTED)),
    Action.WITHDRAW: Rule(_roles(Role.CITIZEN, Role.STAFF), OPEN_STATES, _states(_S.WITHDRAWN)),
    Action.MERGE: Rule(_roles(Role.STAFF), OPEN_STATES, _states(_S.CLOSED)),
    Action.ESCALATE: Rule(_roles(Role.STAFF), OPEN_STATES, _states(_S.ESCALATED)),
    Action.ANSWER_ON_SPOT: Rule(
        _roles(Role.DEPUTY, Role.STAFF), _states(_S.RECEIVED, _S.TRANSFERRED), _states(_S.ANSWERED_ON_SPOT)
    ),
    Action.ADD_INFO: Rule(_roles(Role.CITIZEN), OPEN_STATES, None),
    Action.SPLIT: Rule(_roles(Role.STAFF), _states(_S.RECEIVED, _S.TRANSFERRED, _S.IN_PROGRESS), _states(_S.CLOSED)),
    Action.RECORD_COMMITTEE_ACTION: Rule(_roles(Role.STAFF), _states(_S.ESCALATED), None),
}
del _S

# Chinese wording: "只有{roles}可以{verb}。", "当前状态为“{state}”，不能{verb}。"
ACTION_VERBS = {action: texts.ACTION_VERBS[action.value] for action in Action}
ROLE_LABELS = {role: texts.ROLE_LABELS[role.value] for role in Role}
# How a final state reads in "案件 X 已办结，不能再评价。"
FINAL_PHRASES = {CaseState(state): phrase for state, phrase in texts.FINAL_PHRASES.items()}
_ROLE_ORDER = (Role.CITIZEN, Role.DEPUTY, Role.DEPARTMENT, Role.STAFF, Role.SYSTEM, Role.ADMIN)


def _who(roles: frozenset[Role]) -> str:
    """'承办部门或工作人员'; admin is implied by staff and not named beside it."""
    shown = [r for r in _ROLE_ORDER if r in roles and not (r is Role.ADMIN and Role.STAFF in roles)]
    return texts.ROLES_JOINER.join(ROLE_LABELS[r] for r in shown)


def _refuse(code: str, message: str, facts: CaseFacts, action: Action) -> IllegalTransition:
    return IllegalTransition(code, message, action=action, state=facts.state)


def _basic_refusal(
    facts: CaseFacts, action: Action, role: Role, actor: str | None = None, policy: Policy = DEFAULT_POLICY
) -> IllegalTransition | None:
    """The checks that do not depend on what the command carries (used by `allowed_actions` too). `actor`:
    who would act (None: anyone of `role`), for the rule that a reply's author may not approve it."""
    rule = RULES[action]
    verb = ACTION_VERBS[action]
    if facts.state in FINAL_STATES and facts.state not in rule.from_states:
        final = FINAL_PHRASES[facts.state]
        return _refuse(
            "final_state", texts.CASE_REFUSED_FINAL.format(number=facts.number, final=final, verb=verb), facts, action
        )
    if role not in rule.roles:
        return _refuse(
            "forbidden_role", texts.CASE_REFUSED_ROLE.format(roles=_who(rule.roles), verb=verb), facts, action
        )
    if action is Action.RATE and facts.rated_current_reply:
        return _refuse(
            "already_rated", citizen_texts.CASE_REFUSED_ALREADY_RATED.format(number=facts.number), facts, action
        )
    if facts.state not in rule.from_states:
        return _refuse(
            "wrong_state", texts.CASE_REFUSED_STATE.format(state=STATE_LABELS[facts.state], verb=verb), facts, action
        )
    if action in (Action.APPROVE_REPLY, Action.SEND_BACK_REPLY) and not facts.pending_reply:
        return _refuse(
            "no_pending_reply",
            texts.CASE_REFUSED_NO_PENDING_REPLY.format(number=facts.number, verb=verb),
            facts,
            action,
        )
    if (
        action is Action.APPROVE_REPLY
        and not policy.same_person_may_approve
        and actor is not None
        and facts.pending_reply_by == actor
    ):
        return _refuse("same_person", texts.CASE_REFUSED_SAME_PERSON.format(number=facts.number), facts, action)
    if action is Action.RECORD_REPLY and facts.pending_reply:
        return _refuse(
            "reply_already_pending", texts.CASE_REFUSED_REPLY_PENDING.format(number=facts.number), facts, action
        )
    if action is Action.CLOSE and facts.state is CaseState.ESCALATED and facts.committee_actions == 0:
        return _refuse(
            "no_committee_action", texts.CASE_REFUSED_NO_COMMITTEE_ACTION.format(number=facts.number), facts, action
        )
    return None


def _text(value: str | None) -> str:
    return (value or "").strip()


def _require_reason(facts: CaseFacts, command: Command, what: str) -> str:
    reason = _text(command.reason)
    if not reason:
        raise _refuse("reason_required", texts.CASE_REFUSED_REASON_REQUIRED.format(what=what), facts, command.action)
    return reason


def _with_note(base: str, note: str) -> str:
    return texts.EVENT_WITH_NOTE.format(base=base, note=note) if note else base


def decide(facts: CaseFacts, command: Command, policy: Policy = DEFAULT_POLICY) -> Transition:
    """The transition `command` makes on a case with `facts`, or IllegalTransition.

    Checks in order: final state, role, the citizen's own case, the rating's value, whether the current
    answer was already rated, the from-state, the pending reply (and, unless `policy` allows it, that its
    author is not the one approving it), the committee's follow-up before closing an escalated case, then
    the command's required fields.
    """
    action, role = command.action, command.role
    refusal = _basic_refusal(facts, action, role, command.actor, policy)
    if refusal is not None and refusal.code in ("final_state", "forbidden_role"):
        raise refusal
    if role is Role.CITIZEN and not command.is_own_case:
        raise _refuse(
            "not_own_case",
            citizen_texts.CASE_REFUSED_NOT_OWN.format(number=facts.number, verb=ACTION_VERBS[action]),
            facts,
            action,
        )
    if action is Action.RATE and command.rating not in RATINGS:
        raise _refuse("bad_rating", citizen_texts.CASE_REFUSED_BAD_RATING, facts, action)
    if refusal is not None:
        raise refusal
    return _BUILDERS[action](facts, command)


def _same(
    facts: CaseFacts, command: Command, reason: str, effects: set[str] | frozenset[str] = frozenset(), **extra: Any
) -> Transition:
    return Transition(
        command.action, facts.state, facts.state, reason, frozenset(effects), actor=command.actor, **extra
    )


def _to(
    facts: CaseFacts,
    command: Command,
    target: CaseState,
    reason: str,
    effects: set[str] | frozenset[str] = frozenset(),
    **extra: Any,
) -> Transition:
    return Transition(command.action, facts.state, target, reason, frozenset(effects), actor=command.actor, **extra)


def _assign(facts: CaseFacts, command: Command) -> Transition:
    """A new topic or department (or both): the history says which, from what to what."""
    topic = _text(command.topic) or facts.topic
    department = _text(command.department) or facts.department
    if topic == facts.topic and department == facts.department:
        raise _refuse("assign_unchanged", texts.CASE_REFUSED_ASSIGN_UNCHANGED, facts, command.action)
    changes = []
    if topic != facts.topic:
        changes.append(texts.EVENT_ASSIGNED_TOPIC.format(before=facts.topic or texts.NOTHING, after=topic))
    if department != facts.department:
        changes.append(
            texts.EVENT_ASSIGNED_DEPARTMENT.format(before=facts.department or texts.NOTHING, after=department)
        )
    base = texts.EVENT_WITH_NOTE.format(base=texts.EVENT_ASSIGNED, note=texts.EVENT_CHANGES_JOINER.join(changes))
    effects = {REASSIGNED} | ({NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else set())
    detail = {
        "topic": {"from": facts.topic, "to": topic},
        "department": {"from": facts.department, "to": department},
    }
    return _same(
        facts,
        command,
        _with_note(base, _text(command.reason)),
        effects,
        topic=topic,
        department=department,
        detail=detail,
    )


def _transfer(facts: CaseFacts, command: Command) -> Transition:
    return _to(
        facts,
        command,
        CaseState.TRANSFERRED,
        _with_note(texts.EVENT_TRANSFERRED, _text(command.reason)),
        {NOTIFY_DEPARTMENT},
    )


def _acknowledge(facts: CaseFacts, command: Command) -> Transition:
    return _to(facts, command, CaseState.IN_PROGRESS, _with_note(texts.EVENT_ACKNOWLEDGED, _text(command.reason)))


def _record_reply(facts: CaseFacts, command: Command) -> Transition:
    who = texts.EVENT_BY_DEPARTMENT if command.role is Role.DEPARTMENT else texts.EVENT_BY_STAFF
    base = texts.EVENT_REPLY_RECORDED.format(who=who, number=facts.replies_approved + 1)
    return _same(facts, command, _with_note(base, _text(command.reason)), {REPLY_PENDING})


def _approve_reply(facts: CaseFacts, command: Command) -> Transition:
    number = facts.replies_approved + 1
    reason = _with_note(texts.EVENT_REPLY_APPROVED.format(number=number), _text(command.reason))
    return _to(
        facts, command, CaseState.REPLIED, reason, {REPLY_SENT_TO_CITIZEN, RATING_REQUESTED}, reply_number=number
    )


def _send_back_reply(facts: CaseFacts, command: Command) -> Transition:
    reason = _require_reason(facts, command, texts.REASON_FOR_SEND_BACK)
    return _same(
        facts, command, texts.EVENT_REPLY_SENT_BACK.format(reason=reason), {REPLY_SENT_BACK, NOTIFY_DEPARTMENT}
    )


def _rate(facts: CaseFacts, command: Command) -> Transition:
    rating = command.rating
    comment = _text(command.reason)
    base = texts.EVENT_RATED.format(rating=rating)
    if rating in SATISFIED:
        return _to(facts, command, CaseState.CLOSED, _with_note(base, comment), {RATING_RECORDED}, rating=rating)
    if facts.unsatisfied_ratings == 0:
        reason = _with_note(texts.EVENT_RATED_REHANDLING.format(base=base), comment)
        return _to(facts, command, CaseState.REHANDLING, reason, {RATING_RECORDED, NOTIFY_DEPARTMENT}, rating=rating)
    reason = _with_note(texts.EVENT_RATED_ESCALATED.format(base=base, count=facts.unsatisfied_ratings + 1), comment)
    return _to(facts, command, CaseState.ESCALATED, reason, {RATING_RECORDED, NOTIFY_STAFF}, rating=rating)


def _close_unrated(facts: CaseFacts, command: Command) -> Transition:
    return _to(facts, command, CaseState.CLOSED, UNRATED_REASON)


def _close(facts: CaseFacts, command: Command) -> Transition:
    if facts.state is CaseState.ESCALATED:
        return _to(
            facts, command, CaseState.CLOSED, _with_note(texts.EVENT_CLOSED_AFTER_COMMITTEE, _text(command.reason))
        )
    if facts.state in AWAITING_RATING:
        return _to(facts, command, CaseState.CLOSED, _with_note(texts.EVENT_CLOSED, _text(command.reason)))
    reason = _require_reason(facts, command, texts.REASON_FOR_CLOSE_UNANSWERED.format(state=STATE_LABELS[facts.state]))
    return _to(
        facts,
        command,
        CaseState.CLOSED,
        texts.EVENT_CLOSED_WITH_REASON.format(reason=reason),
        {NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else frozenset(),
    )


def _reject(facts: CaseFacts, command: Command) -> Transition:
    reason = _require_reason(facts, command, texts.REASON_FOR_REJECT)
    return _to(
        facts,
        command,
        CaseState.REJECTED,
        texts.EVENT_REJECTED.format(reason=reason),
        {NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else frozenset(),
    )


def _withdraw(facts: CaseFacts, command: Command) -> Transition:
    reason = _require_reason(facts, command, texts.REASON_FOR_WITHDRAW)
    who = texts.EVENT_WITHDRAWN_BY_CITIZEN if command.role is Role.CITIZEN else texts.EVENT_WITHDRAWN_BY_STAFF
    return _to(
        facts,
        command,
        CaseState.WITHDRAWN,
        texts.EVENT_WITHDRAWN.format(who=who, reason=reason),
        {NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else frozenset(),
    )


def _merge(facts: CaseFacts, command: Command) -> Transition:
    target = _text(command.merged_into).upper()
    if not target:
        raise _refuse("bad_merge", texts.CASE_REFUSED_NO_MERGE_TARGET, facts, command.action)
    if target == facts.number.strip().upper():
        raise _refuse("bad_merge", texts.CASE_REFUSED_MERGE_SELF.format(number=facts.number), facts, command.action)
    reason = _with_note(texts.EVENT_MERGED.format(target=target), _text(command.reason))
    return _to(
        facts,
        command,
        CaseState.CLOSED,
        reason,
        {NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else frozenset(),
        merged_into=target,
    )


def _escalate(facts: CaseFacts, command: Command) -> Transition:
    level = _text(command.level)
    if level not in ESCALATION_LEVELS:
        raise _refuse("bad_level", texts.CASE_REFUSED_BAD_LEVEL, facts, command.action)
    reason = _require_reason(facts, command, texts.REASON_FOR_ESCALATE)
    return _to(
        facts,
        command,
        CaseState.ESCALATED,
        texts.EVENT_ESCALATED.format(level=level, reason=reason),
        {NOTIFY_STAFF},
        level=level,
    )


def _answer_on_spot(facts: CaseFacts, command: Command) -> Transition:
    answer = _text(command.answer)
    if not answer:
        raise _refuse("answer_required", texts.CASE_REFUSED_ANSWER_REQUIRED, facts, command.action)
    who = texts.EVENT_BY_DEPUTY if command.role is Role.DEPUTY else texts.EVENT_BY_STAFF
    # A department already holding the case must hear that it was answered.
    department = {NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else set()
    return _to(
        facts,
        command,
        CaseState.ANSWERED_ON_SPOT,
        texts.EVENT_ANSWERED_ON_SPOT.format(who=who, answer=answer),
        {ANSWER_RECORDED, RATING_REQUESTED} | department,
    )


def _add_info(facts: CaseFacts, command: Command) -> Transition:
    effects = {NOTIFY_STAFF} | ({NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else set())
    return _same(facts, command, _with_note(texts.EVENT_ADDED_INFO, _text(command.reason)), effects)


def _split(facts: CaseFacts, command: Command) -> Transition:
    """Closed as split: the caller registers one new case per part and names them (`numbered_split`)."""
    parts = tuple(
        SplitPart(_text(p.description), _text(p.topic), _text(p.department), _text(p.place)) for p in command.parts
    )
    if len(parts) < 2:
        raise _refuse("split_too_few", texts.CASE_REFUSED_SPLIT_TOO_FEW, facts, command.action)
    if any(not p.description or not p.topic for p in parts):
        raise _refuse("split_part_empty", texts.CASE_REFUSED_SPLIT_PART_EMPTY, facts, command.action)
    topics = texts.CASE_TOPICS_JOINER.join(p.topic for p in parts)
    note = _text(command.reason)
    reason = _with_note(texts.EVENT_SPLIT.format(count=len(parts), topics=topics), note)
    detail = {"parts": [{"topic": p.topic, "department": p.department} for p in parts], "note": note}
    return _to(
        facts,
        command,
        CaseState.CLOSED,
        reason,
        {SPLIT_INTO_PARTS} | ({NOTIFY_DEPARTMENT} if facts.state in WITH_DEPARTMENT else set()),
        parts=parts,
        detail=detail,
    )


def numbered_split(transition: Transition, numbers: Sequence[str]) -> Transition:
    """A split's transition once its parts are registered under `numbers` (in the parts' order): the history
    names the new cases, and the event's detail links them."""
    if transition.action is not Action.SPLIT or len(numbers) != len(transition.parts):
        raise ValueError("numbers for the parts of a split, one each")
    named = texts.CASE_TOPICS_JOINER.join(
        texts.EVENT_SPLIT_PART.format(number=n, topic=p.topic) for n, p in zip(numbers, transition.parts, strict=True)
    )
    note = str(transition.detail.get("note", ""))
    reason = _with_note(texts.EVENT_SPLIT_INTO.format(parts=named), note)
    parts = [{**p, "case_no": n} for p, n in zip(transition.detail["parts"], numbers, strict=True)]
    return replace(transition, reason=reason, split_into=tuple(numbers), detail={"parts": parts, "note": note})


def _record_committee_action(facts: CaseFacts, command: Command) -> Transition:
    kind = _text(command.kind)
    if kind not in COMMITTEE_KINDS:
        raise _refuse("bad_committee_kind", texts.CASE_REFUSED_BAD_COMMITTEE_KIND, facts, command.action)
    outcome = _text(command.reason)
    if not outcome:
        raise _refuse("outcome_required", texts.CASE_REFUSED_COMMITTEE_OUTCOME.format(kind=kind), facts, command.action)
    return _same(
        facts,
        command,
        texts.EVENT_COMMITTEE_ACTION.format(kind=kind, outcome=outcome),
        {COMMITTEE_OUTCOME},
        kind=kind,
        detail={"kind": kind, "outcome": outcome},
    )


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
    Action.SPLIT: _split,
    Action.RECORD_COMMITTEE_ACTION: _record_committee_action,
}


def apply(facts: CaseFacts, transition: Transition) -> CaseFacts:
    """The facts after `transition` (from `decide` on these same facts); raises ValueError on a stale one."""
    if transition.from_state is not facts.state:
        raise ValueError(f"transition from {transition.from_state} applied to a case in {facts.state}")
    after = replace(facts, state=transition.to_state)
    match transition.action:
        case Action.RECORD_REPLY:
            after = replace(after, pending_reply=True, pending_reply_by=transition.actor)
        case Action.APPROVE_REPLY:
            after = replace(
                after,
                pending_reply=False,
                pending_reply_by=None,
                replies_approved=facts.replies_approved + 1,
                rated_current_reply=False,
            )
        case Action.SEND_BACK_REPLY:
            after = replace(after, pending_reply=False, pending_reply_by=None)
        case Action.ASSIGN:
            after = replace(after, topic=transition.topic or facts.topic, department=transition.department or "")
        case Action.RECORD_COMMITTEE_ACTION:
            after = replace(after, committee_actions=facts.committee_actions + 1)
        case Action.RATE:
            unsatisfied = facts.unsatisfied_ratings + (1 if transition.rating == UNSATISFIED else 0)
            after = replace(after, rated_current_reply=True, unsatisfied_ratings=unsatisfied)
        case Action.ANSWER_ON_SPOT:
            after = replace(after, rated_current_reply=False)
    return after


def allowed_actions(
    facts: CaseFacts, role: Role, *, actor: str | None = None, policy: Policy = DEFAULT_POLICY
) -> list[Action]:
    """What a console should offer `role` (the user `actor`, when known) on this case, in `Action` order.

    An offered action may still be refused for what the command carries (a missing reason, a bad
    rating, a citizen's other case); an action not offered is always refused. Without `actor`, approving
    a reply is offered to every staff member, its author included (who is then refused unless `policy`
    allows it).
    """
    return [action for action in Action if _basic_refusal(facts, action, role, actor, policy) is None]
