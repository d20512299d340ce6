"""a delivery's id is unique per conversation, not per channel; messages left received are indexed

Two citizens of one channel may send the same message id (a client numbering its messages per user):
each message is its own. Every set of rows that met the old constraint meets the new one (a conversation
belongs to one channel), so the upgrade never fails on existing data; the downgrade fails if two users
have since sent the same id. The recovery pass looks for messages left `received` every few seconds: a
partial index holds only those.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite cannot drop a constraint in place, so the table is copied (PostgreSQL alters it).
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_messages_channel", type_="unique")
        batch_op.create_unique_constraint(
            "uq_messages_conversation_id", ["conversation_id", "direction", "external_id"]
        )
        batch_op.create_index(
            "ix_messages_received_created_at",
            ["created_at"],
            postgresql_where=sa.text("status = 'received'"),
            sqlite_where=sa.text("status = 'received'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_received_created_at")
        batch_op.drop_constraint("uq_messages_conversation_id", type_="unique")
        batch_op.create_unique_constraint("uq_messages_channel", ["channel", "direction", "external_id"])
