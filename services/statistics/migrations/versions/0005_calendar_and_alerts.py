"""The calendar versions deadlines publishes (on-time is judged on the latest), and every
overdue alert of a case with its withdrawal.

Revision ID: 0005
Revises: 0004
"""

from shared.platform.calendar_versions import CALENDAR_VERSIONS_DDL, CALENDAR_VERSIONS_DROP
from shared.platform.migrations import run_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0002 creates case_fact as the code declares it, so a new database has the column.
    run_sql(CALENDAR_VERSIONS_DDL
            + "ALTER TABLE case_fact ADD COLUMN IF NOT EXISTS overdue_alerts text;")


def downgrade() -> None:
    run_sql(CALENDAR_VERSIONS_DROP + "ALTER TABLE case_fact DROP COLUMN overdue_alerts;")
