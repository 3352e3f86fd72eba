"""A timer the sweep cannot handle is parked with its error and retried later.

Revision ID: 0004
Revises: 0003
"""

from services.deadlines.schema import PARKING_DDL, PARKING_DROP
from shared.platform.migrations import run_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(PARKING_DDL)


def downgrade() -> None:
    run_sql(PARKING_DROP)
