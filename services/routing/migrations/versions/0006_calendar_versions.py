"""The calendar versions deadlines publishes, folded here (the handling limit of repeat
detection is counted on the latest).

Revision ID: 0006
Revises: 0005
"""

from shared.platform.calendar_versions import CALENDAR_VERSIONS_DDL, CALENDAR_VERSIONS_DROP
from shared.platform.migrations import run_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(CALENDAR_VERSIONS_DDL)


def downgrade() -> None:
    run_sql(CALENDAR_VERSIONS_DROP)
