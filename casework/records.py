"""Applying casework decisions to the case store: one function per operation.

The decisions themselves are the pure functions of `casework.cases`; these functions only carry
them out through the storage repositories and record the event.
"""

from __future__ import annotations

import datetime as dt

from casework.cases import Registration, Report, Role, format_case_number, local_day, register
from casework.deadlines import case_deadlines
from casework.routing import route
from casework.workdays import WorkingCalendar
from settings import Deployment
from storage.models import Case, Department, Deputy, Station
from storage.repositories import CaseStore, DirectoryStore, Party


async def register_case(
    cases: CaseStore,
    directory: DirectoryStore,
    deployment: Deployment,
    calendar: WorkingCalendar,
    party: Party,
    report: Report,
    now: dt.datetime,
) -> tuple[Case, Registration]:
    """Turn a confirmed report into a received case with its number, deadlines, event and attachments."""
    department = route(report.topic, deployment)
    limits = deployment.deadlines
    deadlines = case_deadlines(now, calendar, transfer_hours=limits.transfer_hours,
                               reply_working_days=limits.reply_working_days,
                               overdue_working_days=limits.overdue_working_days)
    registration = register(report, department.code, deadlines)
    day = local_day(now)
    number = format_case_number(deployment.case_prefix, day, await cases.next_sequence(day))
    stations = await directory.ids(Station)
    departments = await directory.ids(Department)
    deputies = await directory.ids(Deputy)
    case = await cases.create(
        number=number,
        citizen_id=party.citizen_id,
        conversation_id=party.conversation_id,
        station_id=stations[deployment.main_station.code],
        department_id=departments[registration.department_code],
        deputy_id=deputies.get(report.deputy_code) if report.deputy_code else None,
        state=registration.state.value,
        topic=report.topic,
        topic_confidence=report.topic_confidence,
        description=report.description,
        place=report.place,
        anonymous=report.anonymous,
        contact_consent=report.contact_consent,
        contact_phone=report.contact_phone,
        created_at=now,
        updated_at=now,
        transfer_due_at=deadlines.transfer_due_at,
        reply_due_at=deadlines.reply_due_at,
        overdue_at=deadlines.overdue_at,
    )
    await cases.add_event(case, action=registration.event_action, actor=f"{party.channel}:{party.user_id}",
                          actor_role=Role.CITIZEN.value, from_state=None, to_state=registration.state.value,
                          reason=registration.event_reason, at=now)
    for item in report.attachments:
        await cases.attach(case.id, **item)
    return case, registration
