"""Applying routing's assignment to the case record."""

from __future__ import annotations

import uuid

import asyncpg

from shared.schemas import CaseAssigned


async def apply_assignment(conn: asyncpg.Connection, event: CaseAssigned) -> None:
    """Record the unit; an older assignment version arriving late changes nothing."""
    await conn.execute(
        """
        UPDATE cases SET assigned_unit = $2, assignment_version = $3, leader = $4,
               status = CASE WHEN status = 'registered' THEN 'assigned' ELSE status END
        WHERE case_id = $1 AND assignment_version < $3
        """,
        uuid.UUID(event.case_id), event.unit, event.assignment_version, event.leader,
    )
