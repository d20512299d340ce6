"""Statements of the message path, compiled once per database and handed to the driver as they are.

Every message runs the same few statements: who is talking, the message logged, the replies logged, the
message marked, the conversation noted. Through the ORM each cost about 1.5 ms of Python a call on this
machine (building the statement, its cache key, the ORM's bookkeeping, the result's processing); compiled once
and run with `exec_driver_sql` about 0.6 ms (bench/README.md, "A report through the bot"). They stay
SQLAlchemy constructs on the models, so the SQL is the dialect's own; only their parameters are made here,
through the columns' own types (a moment in UTC, JSON), as SQLAlchemy would make them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Executable

Params = Mapping[str, Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # The parameters' names in the statement's order (a positional driver: SQLite's ?), or None (named: %(x)s).
    order: tuple[str, ...] | None
    fixed: dict[str, Any]  # the values written in the construct (`direction == "in"`)
    processors: dict[str, Callable[[Any], Any]]

    def bind(self, params: Params) -> tuple[Any, ...] | dict[str, Any]:
        values = {**self.fixed, **params}
        for name, process in self.processors.items():
            values[name] = process(values[name])
        return tuple(values[name] for name in self.order) if self.order is not None else values


class Prepared:
    """One statement of the message path. `build` makes it for a dialect's name (an INSERT … ON CONFLICT is
    each dialect's own construct); its parameters are `bindparam`s named as `run`'s keys."""

    def __init__(self, build: Callable[[str], Executable]) -> None:
        self._build = build
        self._by_dialect: dict[str, _Compiled] = {}

    async def run(self, session: AsyncSession, params: Params | Sequence[Params]) -> CursorResult[Any]:
        """Run it in the session's transaction: one set of parameters, or a list of them (executemany)."""
        if session.new or session.dirty or session.deleted:
            # As the ORM's autoflush would: the statement sees what the unit of work added or changed so far.
            await session.flush()
        connection = await session.connection()
        compiled = self._compiled(connection.dialect)
        if isinstance(params, Mapping):
            return await connection.exec_driver_sql(compiled.sql, compiled.bind(params))
        rows = [compiled.bind(each) for each in params]
        return await connection.exec_driver_sql(compiled.sql, rows)

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = _compile(self._build(dialect.name), dialect)
        return found


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    processors, fixed = {}, {}
    # Each parameter by the name it has in the SQL: a `bindparam("x")` keeps x; a literal gets a name of its own.
    for bind, name in compiled.bind_names.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
        if not bind.required:
            fixed[name] = bind.effective_value
    order = tuple(compiled.positiontup) if dialect.positional else None
    return _Compiled(compiled.string, order, fixed, processors)
