"""the desk's opening view: the cases not concluded, counted and ordered from one partial index; a department's
cases by state (the desk's capped counts of the concluded ones)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 13:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As storage/models.py has them when this revision was written.
COLUMNS = [
    "state",
    "department_id",
    "topic",
    "station_id",
    "deputy_id",
    "transfer_due_at",
    "reply_due_at",
    "created_at",
    "id",
]
WHERE = "state NOT IN ('closed', 'rejected', 'withdrawn')"


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_department_id"))
        batch_op.create_index("ix_cases_department_id_state", ["department_id", "state"], unique=False)
        batch_op.create_index(
            "ix_cases_at_desk",
            COLUMNS,
            unique=False,
            postgresql_where=sa.text(WHERE),
            sqlite_where=sa.text(WHERE),
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_at_desk")
        batch_op.drop_index("ix_cases_department_id_state")
        batch_op.create_index(batch_op.f("ix_cases_department_id"), ["department_id"], unique=False)
