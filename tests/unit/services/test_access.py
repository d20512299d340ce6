"""The access policy as a table: role x case situation -> what is seen, and masked or not; and the SQL
filter for lists keeps exactly the cases the predicate allows."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from casework.actors import Actor
from casework.cases import Role
from services import access
from services.access import CaseScope, ConversationScope, View
from storage.models import Base, Case, CaseEvent, CaseFollower

JIANSHE, JIAOTONG = 10, 20
WANG, LI = 7, 8
ZHANG, ZHAO = 1, 2  # citizens

# The case situations: who reported it, which department it is routed to, whether it was transferred,
# which deputy follows it, which citizens follow it.
CASES = {
    "received for jianshe": CaseScope(ZHANG, JIANSHE, None, transferred=False),
    "transferred to jianshe": CaseScope(ZHAO, JIANSHE, None, transferred=True),
    "transferred to jiaotong, wang follows": CaseScope(ZHAO, JIAOTONG, WANG, transferred=True),
    "received, wang follows, zhang follows": CaseScope(
        ZHAO, JIANSHE, WANG, transferred=False, follower_citizen_ids=frozenset({ZHANG})
    ),
}
ACTORS = {
    "staff": Actor("staff1", Role.STAFF),
    "admin": Actor("admin1", Role.ADMIN),
    "system": Actor("system", Role.SYSTEM),
    "jianshe": Actor("jianshe", Role.DEPARTMENT, department_id=JIANSHE),
    "jiaotong": Actor("jiaotong", Role.DEPARTMENT, department_id=JIAOTONG),
    "department without one": Actor("nobody", Role.DEPARTMENT),
    "deputy wang": Actor("wangmin", Role.DEPUTY, deputy_code="wang-min", deputy_id=WANG),
    "deputy li": Actor("lihua", Role.DEPUTY, deputy_code="li-hua", deputy_id=LI),
    "deputy without one": Actor("nodeputy", Role.DEPUTY),
    "citizen zhang": Actor("wechat:zhang", Role.CITIZEN, citizen_id=ZHANG),
    "citizen zhao": Actor("wechat:zhao", Role.CITIZEN, citizen_id=ZHAO),
    "citizen unknown": Actor("wechat:?", Role.CITIZEN),
}
F, S, N = View.FULL, View.SUMMARY, View.NONE
# Columns in the order of CASES.
TABLE = {
    "staff": (F, F, F, F),
    "admin": (F, F, F, F),
    "system": (F, F, F, F),
    "jianshe": (N, F, N, N),  # its own cases once transferred to it, not before
    "jiaotong": (N, N, F, N),
    "department without one": (N, N, N, N),
    "deputy wang": (N, N, F, F),  # the cases they follow, whatever their state
    "deputy li": (N, N, N, N),
    "deputy without one": (N, N, N, N),
    "citizen zhang": (F, N, N, S),  # their own in full; one they follow as its public summary
    "citizen zhao": (N, F, F, F),
    "citizen unknown": (N, N, N, N),
}
MASKED = {
    "staff": False,
    "admin": False,
    "system": True,
    "jianshe": True,
    "jiaotong": True,
    "department without one": True,
    "deputy wang": True,
    "deputy li": True,
    "deputy without one": True,
    "citizen zhang": True,
    "citizen zhao": True,
    "citizen unknown": True,
}


@pytest.mark.parametrize(("actor", "case"), [(a, c) for a in ACTORS for c in CASES])
def test_who_sees_which_case(actor, case):
    expected = TABLE[actor][list(CASES).index(case)]
    assert access.case_view(ACTORS[actor], CASES[case]) is expected
    assert access.may_see_case(ACTORS[actor], CASES[case]) is (expected is not View.NONE)
    assert access.may_see(ACTORS[actor], CASES[case]) is (expected is not View.NONE)


@pytest.mark.parametrize("actor", list(ACTORS))
def test_identities_are_masked_for_anyone_but_staff(actor):
    text = "我叫张三，电话138-1234-8000，身份证110101199003071234"
    shown = access.masked_for(ACTORS[actor], text, names=["张三"])
    if MASKED[actor]:
        assert shown == "我叫张*，电话138****8000，身份证110101********1234"
        assert access.phone_for(ACTORS[actor], "+86 138 1234 8000") == "138****8000"
        assert access.name_for(ACTORS[actor], "欧阳娜娜") == "欧***"
    else:
        assert shown == text
        assert access.phone_for(ACTORS[actor], "13812348000") == "13812348000"
        assert access.name_for(ACTORS[actor], "张三") == "张三"
    assert access.phone_for(ACTORS[actor], None) is None


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The four situations as rows of a case store in a SQLite file (the policy's filter runs as SQL)."""
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('access') / 'cases.db'}")
    Base.metadata.create_all(engine)
    now = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
    with Session(engine) as session:
        for number, (name, scope) in enumerate(CASES.items(), start=1):
            case = Case(
                number=f"LL20261127{number:03}",
                citizen_id=scope.citizen_id,
                station_id=1,
                department_id=scope.department_id,
                deputy_id=scope.deputy_id,
                state="transferred" if scope.transferred else "received",
                topic="城乡建设",
                description=name,
                created_at=now,
                updated_at=now,
                transfer_due_at=now,
                reply_due_at=now,
                overdue_at=now,
            )
            session.add(case)
            session.flush()
            session.add(
                CaseEvent(
                    case_id=case.id, action="register", actor="x", actor_role="citizen", to_state="received", at=now
                )
            )
            if scope.transferred:
                session.add(
                    CaseEvent(
                        case_id=case.id,
                        action="transfer",
                        actor="staff1",
                        actor_role="staff",
                        from_state="received",
                        to_state="transferred",
                        at=now,
                    )
                )
            for citizen in scope.follower_citizen_ids:
                session.add(CaseFollower(case_id=case.id, citizen_id=citizen, conversation_id=citizen))
        session.commit()
    yield engine
    engine.dispose()


@pytest.mark.parametrize("actor", list(ACTORS))
def test_the_list_filter_keeps_exactly_the_cases_the_predicate_allows(store, actor):
    with Session(store) as session:
        listed = set(session.execute(select(Case.description).where(access.case_filter(ACTORS[actor]))).scalars())
    assert listed == {case for case, view in zip(CASES, TABLE[actor], strict=True) if view is not View.NONE}


def test_a_stream_asks_about_a_conversation_with_plain_data():
    conversation = ConversationScope(
        citizen_id=ZHANG, department_ids=frozenset({JIANSHE}), deputy_ids=frozenset({WANG})
    )
    seen = {name for name, actor in ACTORS.items() if access.may_see(actor, conversation)}
    assert seen == {"staff", "admin", "system", "jianshe", "deputy wang", "citizen zhang"}


def test_reports_records_and_bookings():
    assert {n for n, a in ACTORS.items() if access.may_read_reports(a)} == {"staff", "admin"}
    assert {n for n, a in ACTORS.items() if access.may_read_deputy_record(a, "wang-min")} == {
        "staff",
        "admin",
        "deputy wang",
    }
    on_duty = ["wang-min"]
    assert {n for n, a in ACTORS.items() if access.may_see_session_bookings(a, on_duty)} == {
        "staff",
        "admin",
        "deputy wang",
    }
    assert access.may_see_session_bookings(None, on_duty)  # the operator at the command line
    assert not access.sees_booking_contacts(None)
    assert {n for n, a in ACTORS.items() if access.sees_booking_contacts(a)} == {
        "staff",
        "admin",
        "deputy wang",
        "deputy li",
        "deputy without one",
    }


def test_the_consoles_desks():
    assert {n for n, a in ACTORS.items() if access.may_run_reception_desk(a)} == {"staff", "admin"}
    assert {n for n, a in ACTORS.items() if access.may_use_deputy_page(a)} == {"deputy wang", "deputy li"}
    assert {n for n, a in ACTORS.items() if access.may_administer_users(a)} == {"admin"}
    shown = {n: access.booking_phone_for(a, "13812345678") for n, a in ACTORS.items()}
    assert {n for n, phone in shown.items() if phone == "13812345678"} == {
        "staff",
        "admin",
        "deputy wang",
        "deputy li",
        "deputy without one",
    }
    assert shown["jianshe"] == access.booking_phone_for(None, "13812345678") != "13812345678"
    assert access.booking_phone_for(ACTORS["jianshe"], None) is None


@pytest.mark.parametrize("actor", list(ACTORS))
def test_a_citizens_channel_id_in_an_event_is_shown_to_staff_only(actor):
    shown = access.event_actor_for(ACTORS[actor], "citizen", "wechat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M")
    assert shown == ("citizen" if MASKED[actor] else "wechat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M")
    assert access.event_actor_for(ACTORS[actor], "staff", "staff1") == "staff1"


async def test_scopes_read_from_the_store_are_the_situations_and_travel_as_plain_data(store):
    engine = create_async_engine(str(store.url).replace("sqlite://", "sqlite+aiosqlite://"))
    try:
        async with AsyncSession(engine) as session:
            cases = (await session.execute(select(Case).order_by(Case.id))).scalars().all()
            scopes = [await access.case_scope(session, case) for case in cases]
            zhao = await access.conversation_scope(session, ZHAO)
            zhang = await access.conversation_scope(session, ZHANG)
    finally:
        await engine.dispose()
    assert scopes == list(CASES.values())
    # Zhao's cases: transferred to jianshe and jiaotong (one more routed to jianshe, not transferred); two follow wang.
    assert zhao == ConversationScope(ZHAO, frozenset({JIANSHE, JIAOTONG}), frozenset({WANG}))
    assert zhang == ConversationScope(ZHANG)  # their one case is not transferred yet and follows no deputy
    for scope in [*scopes, zhao, zhang]:
        assert access.scope_from_dict(json.loads(json.dumps(access.scope_as_dict(scope)))) == scope


def _case(**fields) -> Case:
    defaults = {
        "number": "LL20261127009",
        "citizen_id": ZHAO,
        "department_id": JIANSHE,
        "description": "我叫王小明，阳光小区3栋2单元501室门口的路灯坏了，电话13812345678，身份证110101199003071234",
        "place": "阳光小区3栋2单元501室",
        "anonymous": False,
        "contact_consent": True,
        "contact_phone": "13812345678",
        "named_people": [],
    }
    return Case(**{**defaults, **fields})


# Who reads the phone the citizen left for the handling staff (`case_contact`, every read recorded): as written
# or masked, on a case transferred to jianshe.
CONTACT = {
    "staff": "13812345678",
    "admin": "13812345678",
    "jianshe": "13812345678",  # the handling department
    "jiaotong": "138****5678",
    "deputy wang": "138****5678",
    "citizen zhang": "138****5678",
}
TRANSFERRED = CASES["transferred to jianshe"]


@pytest.mark.parametrize("actor", list(CONTACT))
def test_the_contact_phone_reaches_the_handling_department_and_never_comes_from_an_anonymous_case(actor):
    who = ACTORS[actor]
    assert access.contact_for(who, _case(), TRANSFERRED) == (CONTACT[actor], CONTACT[actor] == "13812345678")
    assert access.reads_contact(who, TRANSFERRED) is (CONTACT[actor] == "13812345678")
    assert access.contact_for(who, _case(anonymous=True), TRANSFERRED) == (None, False)
    assert access.contact_for(who, _case(contact_consent=False), TRANSFERRED) == (None, False)
    # A case's JSON carries it masked, whoever reads it: no unrecorded read of the number as written.
    assert access.contact_phone_for(who, _case()) == "138****5678"
    assert access.contact_phone_for(who, _case(anonymous=True)) is None


def test_a_department_reads_the_contact_only_once_the_case_was_transferred_to_it():
    jianshe = ACTORS["jianshe"]
    assert access.reads_contact(jianshe, CASES["transferred to jianshe"])
    assert not access.reads_contact(jianshe, CASES["received for jianshe"])
    assert not access.reads_contact(None, TRANSFERRED)
    assert [a for a in ACTORS if access.may_audit_contact_views(ACTORS[a])] == ["staff", "admin"]


@pytest.mark.parametrize("actor", list(ACTORS))
def test_a_departments_or_deputys_view_masks_names_and_id_numbers_but_not_deputies(actor):
    text = "我叫王小明，李建国代表来过，身份证11010119900307123X，电话0571-8888 1234"
    shown = access.masked_for(ACTORS[actor], text, names=["阿强"], public={"李建国"})
    if MASKED[actor]:
        assert shown == "我叫王**，李建国代表来过，身份证110101********123X，电话0571-****1234"
    else:
        assert shown == text


def test_a_follower_reads_the_public_summary_only():
    summary, place = access.follower_summary(_case(named_people=["王小明"]))
    assert place == "阳光小区"
    assert "王小明" not in summary and "13812345678" not in summary and "501" not in summary
    assert summary.startswith("我叫王**，阳光小区*栋*单元*室") and len(summary) <= 30


@pytest.mark.parametrize(
    ("recipient_type", "recipient", "masked"),
    [
        ("citizen", "citizen:12", False),
        ("citizen", "follower:34", True),
        ("staff", "staff1", False),
        ("department", "jianshe-user", True),
        ("deputy", "wangmin", True),
    ],
)
def test_a_push_is_masked_as_its_reader(recipient_type, recipient, masked):
    assert access.push_masked(recipient_type, recipient) is masked
