"""case desk: how a case came in, the detail of its events, the record of every view of a citizen's contact

`cases.source` says how a case came in (online, reception, split; existing cases were reported online).
`case_events.detail` holds what an event's reason says as data (an assignment's topic and department before
and after, the standing committee's act, the cases a split made). `contact_views` records who read a
citizen's contact, when, and whether the phone was shown as written.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=20), nullable=False, server_default="online"))
    with op.batch_alter_table("case_events") as batch_op:
        batch_op.add_column(sa.Column("detail", sa.JSON(), nullable=False, server_default="{}"))
    op.create_table(
        "contact_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("unmasked", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_contact_views_case_id_cases")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_contact_views_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_views")),
    )
    with op.batch_alter_table("contact_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_views_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contact_views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_views_case_id"))
    op.drop_table("contact_views")
    with op.batch_alter_table("case_events") as batch_op:
        batch_op.drop_column("detail")
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("source")
