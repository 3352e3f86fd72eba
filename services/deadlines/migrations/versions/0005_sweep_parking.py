"""A timer the sweep cannot handle is parked with its error and retried later.

Revision ID: 0005
Revises: 0004
"""

from services.deadlines.schema import PARKING_DDL, PARKING_DROP
from shared.platform.migrations import run_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(PARKING_DDL)


def downgrade() -> None:
    run_sql(PARKING_DROP)
