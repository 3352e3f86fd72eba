"""Hearings pause the re-review decision timer: the days excluded, and an open hearing.

Revision ID: 0007
Revises: 0006
"""

from services.deadlines.schema import HEARING_DDL, HEARING_DROP
from shared.platform.migrations import run_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(HEARING_DDL)


def downgrade() -> None:
    run_sql(HEARING_DROP)
