"""Parked messages: what the consumer could not apply, kept for replay; and an outbox, through
which dead letters reach their topic.

Revision ID: 0003
Revises: 0002
"""

from shared.platform.migrations import run_sql
from shared.platform.outbox import OUTBOX_DDL
from shared.platform.parking import PARKED_DDL

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(PARKED_DDL + OUTBOX_DDL)


def downgrade() -> None:
    run_sql("DROP TABLE parked; DROP TABLE outbox;")
