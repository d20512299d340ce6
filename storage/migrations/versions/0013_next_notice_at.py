"""when the deadline scan must look at a case again (casework.notices.next_look), so that it looks at the few
open cases where a reminder, an alert or a closing may be due instead of at every open case each minute. Every
open case is to be looked at once from now; the scan then sets each its next moment.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 04:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# casework.lifecycle.OPEN_STATES when this revision was written.
OPEN = "('received', 'transferred', 'in_progress', 'replied', 'rehandling', 'answered_on_spot')"


def upgrade() -> None:
    op.add_column("cases", sa.Column("next_notice_at", sa.DateTime(timezone=True), nullable=True))
    # Their receipt is in the past on both databases' clocks and in the stored form of the column.
    op.execute(f"UPDATE cases SET next_notice_at = created_at WHERE state IN {OPEN}")
    op.create_index(
        "ix_cases_next_notice_at",
        "cases",
        ["next_notice_at"],
        postgresql_where=sa.text("next_notice_at IS NOT NULL"),
        sqlite_where=sa.text("next_notice_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_cases_next_notice_at", table_name="cases")
    op.drop_column("cases", "next_notice_at")
