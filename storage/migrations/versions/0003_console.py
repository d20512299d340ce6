"""console: conversation holds and summaries

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 21:05:11.059353
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_actions_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_conversation_actions_message_id_messages")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_conversation_actions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_actions")),
    )
    with op.batch_alter_table("conversation_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversation_actions_conversation_id"), ["conversation_id"], unique=False)

    op.create_table(
        "nlu_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("intent", sa.String(length=40), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=True),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("corrected_by", sa.String(length=100), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name=op.f("fk_nlu_corrections_message_id_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_corrections")),
        sa.UniqueConstraint("message_id", name=op.f("uq_nlu_corrections_message_id")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("topic", sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f("ix_messages_case_id"), ["case_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_messages_case_id_cases"), "cases", ["case_id"], ["id"])

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_text", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("last_direction", sa.String(length=3), nullable=False, server_default="in"))
        batch_op.add_column(sa.Column("last_status", sa.String(length=20), nullable=False, server_default="handled"))
        batch_op.add_column(sa.Column("last_confidence", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("flow", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("deputy_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("held_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("held_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("staff_active_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_conversations_last_message_at"), ["last_message_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_conversations_deputy_id_deputies"), "deputies", ["deputy_id"], ["id"]
        )
        batch_op.create_foreign_key(batch_op.f("fk_conversations_held_by_id_users"), "users", ["held_by_id"], ["id"])


def downgrade() -> None:
    op.drop_table("nlu_corrections")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_messages_case_id_cases"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_messages_case_id"))
        batch_op.drop_column("topic")
        batch_op.drop_column("case_id")

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_conversations_held_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_conversations_deputy_id_deputies"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_conversations_last_message_at"))
        batch_op.drop_column("staff_active_at")
        batch_op.drop_column("held_since")
        batch_op.drop_column("held_by_id")
        batch_op.drop_column("deputy_id")
        batch_op.drop_column("flow")
        batch_op.drop_column("last_confidence")
        batch_op.drop_column("last_status")
        batch_op.drop_column("last_direction")
        batch_op.drop_column("last_text")
        batch_op.drop_column("last_inbound_at")

    with op.batch_alter_table("conversation_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_actions_conversation_id"))

    op.drop_table("conversation_actions")
