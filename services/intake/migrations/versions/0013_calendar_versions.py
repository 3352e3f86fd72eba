"""The calendar versions deadlines publishes, folded here; the day each assignment's
objection window counts from, so the window is counted on the latest calendar.

Revision ID: 0013
Revises: 0012
"""

from shared.platform.calendar_versions import CALENDAR_VERSIONS_DDL, CALENDAR_VERSIONS_DROP
from shared.platform.migrations import run_sql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(CALENDAR_VERSIONS_DDL + "ALTER TABLE cases ADD COLUMN objection_from date;")


def downgrade() -> None:
    run_sql(CALENDAR_VERSIONS_DROP + "ALTER TABLE cases DROP COLUMN objection_from;")
