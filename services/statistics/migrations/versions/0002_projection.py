"""The statistics projection: case facts, the delta journal, the aggregates, totals.

Revision ID: 0002
Revises: 0001
"""

from services.statistics.schema import PROJECTION_DDL
from shared.platform.migrations import run_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(PROJECTION_DDL)


def downgrade() -> None:
    run_sql("\n".join(f"DROP TABLE {table};"
                       for table in ("totals", "rmonth_max", "month_totals", "cube", "journal",
                                     "case_fact")))
