"""Parked messages: what the consumer could not apply, kept for replay.

Revision ID: 0004
Revises: 0003
"""

from shared.platform.migrations import run_sql
from shared.platform.parking import PARKED_DDL

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(PARKED_DDL)


def downgrade() -> None:
    run_sql("DROP TABLE parked;")
