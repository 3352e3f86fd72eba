"""Calendar versions: every change of a year kept and announced; each timer records the
calendar revision its due date was counted on.

Revision ID: 0008
Revises: 0007
"""

from services.deadlines.schema import CALENDAR_HISTORY_DDL, CALENDAR_HISTORY_DROP
from shared.platform.migrations import run_sql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(CALENDAR_HISTORY_DDL)


def downgrade() -> None:
    run_sql(CALENDAR_HISTORY_DROP)
