"""Health and metrics: whether the parts answer, and counts for a scraper."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, Message


async def database_answers(session: AsyncSession) -> bool:
    return bool((await session.execute(text("SELECT 1"))).scalar() == 1)


async def metrics_text(session: AsyncSession) -> str:
    """Cases by state and messages by direction and status, in Prometheus' text format."""
    lines = ["# TYPE liaison_cases gauge"]
    for state, count in (await session.execute(select(Case.state, func.count()).group_by(Case.state))).all():
        lines.append(f'liaison_cases{{state="{state}"}} {count}')
    lines.append("# TYPE liaison_messages_total counter")
    rows = await session.execute(
        select(Message.direction, Message.status, func.count()).group_by(Message.direction, Message.status)
    )
    for direction, status, count in rows.all():
        lines.append(f'liaison_messages_total{{direction="{direction}",status="{status}"}} {count}')
    return "\n".join(lines) + "\n"
