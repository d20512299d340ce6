"""the desk's counts kept: how many cases not concluded each (state, department, topic, station, deputy) has, kept by
triggers on cases, so that the worklist's facets are summed from a few thousand rows instead of counted over every
open case

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 22:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# As storage/models.py has them when this revision was written. No department or deputy is kept as 0 (ids start at
# 1), so that the key has no NULL and an upsert finds its row on both databases.
OPEN = "NOT IN ('closed', 'rejected', 'withdrawn')"
KEY = "state, department_id, topic, station_id, deputy_id"


def _values(row: str) -> str:
    return f"{row}.state, coalesce({row}.department_id, 0), {row}.topic, {row}.station_id, coalesce({row}.deputy_id, 0)"


def _where(row: str) -> str:
    return (
        f"state = {row}.state AND department_id = coalesce({row}.department_id, 0) AND topic = {row}.topic"
        f" AND station_id = {row}.station_id AND deputy_id = coalesce({row}.deputy_id, 0)"
    )


def _upsert(row: str, cases: int) -> str:
    return (
        f"INSERT INTO desk_counts ({KEY}, cases) VALUES ({_values(row)}, {cases})"
        f" ON CONFLICT ({KEY}) DO UPDATE SET cases = desk_counts.cases + EXCLUDED.cases;"
    )


def _changed() -> str:
    """Whether an update moved the case to another row of counts (SQLite's IS NOT also compares NULLs)."""
    return "(" + " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in KEY.split(", ")) + ")"


POSTGRESQL = [
    # A case that moves between two rows changes the lower key first: two transactions moving cases between the
    # same two rows in opposite directions then take their locks in one order, and do not deadlock. The upserts are
    # written out, not a function's: a call from PL/pgSQL doubled the trigger's cost (0.55 ms an update, 0.27).
    f"""CREATE FUNCTION desk_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        gone boolean := TG_OP <> 'INSERT' AND OLD.state {OPEN};
        came boolean := TG_OP <> 'DELETE' AND NEW.state {OPEN};
    BEGIN
        -- Most updates of a case leave its row of counts as it was (compare_and_set always sets the state):
        -- then nothing is written, and no lock is taken on the row that the case's peers share.
        IF TG_OP = 'UPDATE' AND ROW({_values("NEW")}) IS NOT DISTINCT FROM ROW({_values("OLD")}) THEN
            RETURN NULL;
        END IF;
        IF gone AND came AND ROW({_values("NEW")}) < ROW({_values("OLD")}) THEN
            {_upsert("NEW", 1)}
            {_upsert("OLD", -1)}
        ELSE
            IF gone THEN
                {_upsert("OLD", -1)}
            END IF;
            IF came THEN
                {_upsert("NEW", 1)}
            END IF;
        END IF;
        RETURN NULL;
    END
    $$""",
    f"""CREATE TRIGGER desk_counts_keep AFTER INSERT OR DELETE OR UPDATE OF {KEY} ON cases
    FOR EACH ROW EXECUTE FUNCTION desk_counts_keep()""",
]

SQLITE = [
    f"""CREATE TRIGGER desk_counts_insert AFTER INSERT ON cases WHEN NEW.state {OPEN} BEGIN
        INSERT INTO desk_counts ({KEY}, cases) VALUES ({_values("NEW")}, 1)
        ON CONFLICT ({KEY}) DO UPDATE SET cases = cases + 1;
    END""",
    f"""CREATE TRIGGER desk_counts_delete AFTER DELETE ON cases WHEN OLD.state {OPEN} BEGIN
        UPDATE desk_counts SET cases = cases - 1 WHERE {_where("OLD")};
    END""",
    f"""CREATE TRIGGER desk_counts_update AFTER UPDATE OF {KEY} ON cases WHEN {_changed()} BEGIN
        UPDATE desk_counts SET cases = cases - 1 WHERE OLD.state {OPEN} AND {_where("OLD")};
        INSERT INTO desk_counts ({KEY}, cases) SELECT {_values("NEW")}, 1 WHERE NEW.state {OPEN}
        ON CONFLICT ({KEY}) DO UPDATE SET cases = cases + 1;
    END""",
]

FILL = f"""INSERT INTO desk_counts ({KEY}, cases)
    SELECT state, coalesce(department_id, 0), topic, station_id, coalesce(deputy_id, 0), count(*) FROM cases
    WHERE state {OPEN} GROUP BY state, coalesce(department_id, 0), topic, station_id, coalesce(deputy_id, 0)"""


def upgrade() -> None:
    op.create_table(
        "desk_counts",
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("deputy_id", sa.Integer(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "state", "department_id", "topic", "station_id", "deputy_id", name=op.f("pk_desk_counts")
        ),
    )
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)
    op.execute(FILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER desk_counts_keep ON cases")
        op.execute("DROP FUNCTION desk_counts_keep()")
    else:
        for name in ("desk_counts_insert", "desk_counts_delete", "desk_counts_update"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("desk_counts")
