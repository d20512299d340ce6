"""a case's milestones on its row: when it was first transferred, first left 已受理, first answered, whether it
was ever closed unrated, re-handled or escalated (casework.metrics.Milestones), and its latest rating; the
figures count the cases alone, without their events. Filled here from the events and ratings already stored;
from now on each event's writer sets them (services/cases.py record_event).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The rules as casework.metrics has them when this revision was written: one UPDATE, from the events a
# milestone reads (by the time they happened) and the rating of each case's highest rated reply. Written once
# for both databases (SQLite has UPDATE ... FROM since 3.33).
FILL = """
UPDATE cases SET
    transferred_at = settled.transferred_at,
    left_received_at = settled.left_received_at,
    answered_at = settled.answered_at,
    closed_unrated = settled.closed_unrated = 1,
    rehandled = settled.rehandled = 1,
    escalated = settled.escalated = 1,
    latest_rating = latest.rating
FROM (
    SELECT case_id,
        min(CASE WHEN action = 'transfer' THEN at END) AS transferred_at,
        min(CASE WHEN from_state = 'received' AND to_state <> 'received' THEN at END) AS left_received_at,
        min(CASE WHEN action IN ('approve_reply', 'answer_on_spot') THEN at END) AS answered_at,
        max(CASE WHEN action = 'close_unrated' THEN 1 ELSE 0 END) AS closed_unrated,
        max(CASE WHEN to_state = 'rehandling' THEN 1 ELSE 0 END) AS rehandled,
        max(CASE WHEN to_state = 'escalated' THEN 1 ELSE 0 END) AS escalated
    FROM case_events
    WHERE action IN ('transfer', 'approve_reply', 'answer_on_spot', 'close_unrated')
        OR to_state IN ('rehandling', 'escalated') OR from_state = 'received'
    GROUP BY case_id
) AS settled
LEFT JOIN (
    SELECT r.case_id, r.rating FROM ratings r
    WHERE NOT EXISTS (SELECT 1 FROM ratings later WHERE later.case_id = r.case_id AND later.reply_number > r.reply_number)
) AS latest ON latest.case_id = settled.case_id
WHERE cases.id = settled.case_id
"""


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch: on SQLite a batch rebuilds the table, which drops 0011's counting triggers.
    op.add_column("cases", sa.Column("transferred_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("left_received_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
    for flag in ("closed_unrated", "rehandled", "escalated"):
        op.add_column("cases", sa.Column(flag, sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("cases", sa.Column("latest_rating", sa.String(length=10), nullable=True))
    op.execute(FILL)


def downgrade() -> None:
    # SQLite (3.35 and later) drops a column in place, keeping the triggers, as PostgreSQL does.
    for column in (
        "latest_rating",
        "escalated",
        "rehandled",
        "closed_unrated",
        "answered_at",
        "left_received_at",
        "transferred_at",
    ):
        op.drop_column("cases", column)
