"""Queueing the pushes that notices call for: find each recipient's channel and address, record the push.

A recipient with no channel still gets a row (status no_channel), so staff can see who was not reached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from casework.cases import CaseState, Role
from casework.notices import CITIZEN, DEPARTMENT, DEPUTY, CaseView, Notice
from storage.models import Case
from storage.repositories import PushStore, RecipientStore


def case_view(case: Case, department: str, answered_at: dt.datetime | None = None) -> CaseView:
    """`answered_at`: when the answer awaiting a rating was sent (defaults to the last change)."""
    return CaseView(id=case.id, number=case.number, state=CaseState(case.state), topic=case.topic,
                    department=department, description=case.description, place=case.place,
                    reply_due_at=case.reply_due_at, overdue_at=case.overdue_at, transfer_due_at=case.transfer_due_at,
                    has_deputy=case.deputy_id is not None, answered_at=answered_at or case.updated_at)


async def queue(pushes: PushStore, recipients: RecipientStore, case: Case, notices: list[Notice],
                now: dt.datetime) -> int:
    """Record one push per notice and person; return how many were new (repeats are ignored)."""
    created = 0
    for notice in notices:
        for recipient, channel, address in await _addresses(recipients, case, notice.recipient):
            text, buttons = notice.text, list(notice.buttons)
            if recipient.startswith("follower:") and notice.follower_text:
                text, buttons = notice.follower_text, []
            push = await pushes.enqueue(
                dedupe_key=f"{notice.dedupe_key}:{recipient}", kind=notice.kind, recipient_type=notice.recipient,
                recipient=recipient, channel=channel, address=address, case_id=case.id, text=text,
                buttons=buttons, status="queued" if address else "no_channel",
                next_attempt_at=now, created_at=now)
            created += push is not None
    return created


async def _addresses(recipients: RecipientStore, case: Case, kind: str) -> list[tuple[str, str | None, str | None]]:
    if kind == CITIZEN:
        channel, address = await recipients.citizen_address(case.conversation_id)
        found = [(f"citizen:{case.citizen_id}", channel, address)]
        # Citizens who chose to follow this case instead of opening their own hear what its owner hears.
        for conversation_id in await recipients.followers(case.id):
            channel, address = await recipients.citizen_address(conversation_id)
            found.append((f"follower:{conversation_id}", channel, address))
        return found
    if kind == DEPARTMENT:
        users = await recipients.users([Role.DEPARTMENT.value], department_id=case.department_id or -1)
        label = f"department:{case.department_id}"
    elif kind == DEPUTY:
        users = await recipients.users([Role.DEPUTY.value], deputy_id=case.deputy_id or -1)
        label = f"deputy:{case.deputy_id}"
    else:
        users = await recipients.users([Role.STAFF.value, Role.ADMIN.value])
        label = "staff"
    if not users:
        return [(label, None, None)]
    return [(user.name, user.channel, user.address) for user in users]


async def queue_direct(pushes: PushStore, recipients: RecipientStore, notices: list[Notice], now: dt.datetime, *,
                       conversation_id: int | None = None, citizen_id: int | None = None,
                       deputy_ids: Sequence[int] = ()) -> int:
    """Like `queue`, for pushes about no case (reception bookings): CITIZEN notices go to the citizen of
    `conversation_id`, DEPUTY notices to each deputy of `deputy_ids` (their users with role deputy),
    STAFF notices to the staff. Return how many were new (repeats of a dedupe key are ignored)."""
    created = 0
    for notice in notices:
        if notice.recipient == CITIZEN:
            channel, address = await recipients.citizen_address(conversation_id)
            found = [(f"citizen:{citizen_id}", channel, address)]
        elif notice.recipient == DEPUTY:
            found = []
            for deputy_id in deputy_ids:
                users = await recipients.users([Role.DEPUTY.value], deputy_id=deputy_id)
                found += [(u.name, u.channel, u.address) for u in users] or [(f"deputy:{deputy_id}", None, None)]
        else:
            users = await recipients.users([Role.STAFF.value, Role.ADMIN.value])
            found = [(u.name, u.channel, u.address) for u in users] or [("staff", None, None)]
        for recipient, channel, address in found:
            push = await pushes.enqueue(
                dedupe_key=f"{notice.dedupe_key}:{recipient}", kind=notice.kind, recipient_type=notice.recipient,
                recipient=recipient, channel=channel, address=address, case_id=None, text=notice.text,
                buttons=list(notice.buttons), status="queued" if address else "no_channel",
                next_attempt_at=now, created_at=now)
            created += push is not None
    return created
