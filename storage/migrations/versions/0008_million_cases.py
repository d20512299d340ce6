"""a million cases: the indexes the case desk, a citizen's cases and a deputy's record read by (cases by
citizen and id, by deadline, by department, station and deputy; replies waiting for review; events acted by
a deputy)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        # 我的案件: a citizen's latest cases, newest first, read from the index alone in its order.
        batch_op.drop_index(batch_op.f("ix_cases_citizen_id"))
        batch_op.create_index("ix_cases_citizen_id_id", ["citizen_id", "id"], unique=False)
        # The desk's cases that need nothing now, in their order (after those that do).
        batch_op.create_index("ix_cases_reply_due_at_id", ["reply_due_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_station_id"), ["station_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_deputy_id"), ["deputy_id"], unique=False)
    with op.batch_alter_table("case_replies", schema=None) as batch_op:
        # The desk's 待审核: the few replies waiting for review, among millions approved.
        batch_op.create_index(
            "ix_case_replies_pending_case_id",
            ["case_id"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        # A deputy's record: the events a deputy's users acted, among millions of others.
        batch_op.create_index(
            "ix_case_events_deputy_actor",
            ["actor"],
            unique=False,
            postgresql_where=sa.text("actor_role = 'deputy'"),
            sqlite_where=sa.text("actor_role = 'deputy'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index("ix_case_events_deputy_actor")
    with op.batch_alter_table("case_replies", schema=None) as batch_op:
        batch_op.drop_index("ix_case_replies_pending_case_id")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_deputy_id"))
        batch_op.drop_index(batch_op.f("ix_cases_station_id"))
        batch_op.drop_index(batch_op.f("ix_cases_department_id"))
        batch_op.drop_index("ix_cases_reply_due_at_id")
        batch_op.drop_index("ix_cases_citizen_id_id")
        batch_op.create_index(batch_op.f("ix_cases_citizen_id"), ["citizen_id"], unique=False)
