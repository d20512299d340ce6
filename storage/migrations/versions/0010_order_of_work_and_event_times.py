"""the desk's order of work: the cases not concluded by reply deadline, with the columns a need and the desk's
filters read, so that each need's first page is read in order from the index alone; a case's events by case and
time in place of by case alone (whether a case had an event in a period, from the index alone)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 18:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# As storage/models.py has them when this revision was written.
COLUMNS = [
    "reply_due_at",
    "id",
    "state",
    "transfer_due_at",
    "department_id",
    "topic",
    "station_id",
    "deputy_id",
]
WHERE = "state NOT IN ('closed', 'rejected', 'withdrawn')"


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_desk_due",
            COLUMNS,
            unique=False,
            postgresql_where=sa.text(WHERE),
            sqlite_where=sa.text(WHERE),
        )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_events_case_id"))
        batch_op.create_index("ix_case_events_case_id_at", ["case_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index("ix_case_events_case_id_at")
        batch_op.create_index(batch_op.f("ix_case_events_case_id"), ["case_id"], unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_desk_due")
