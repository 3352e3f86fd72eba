"""Timers per case and kind, their history, the facts they derive from, the calendar overlay.

Revision ID: 0002
Revises: 0001
"""

from services.deadlines.schema import DDL, DROP
from shared.platform.migrations import run_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(DDL)


def downgrade() -> None:
    run_sql(DROP)
