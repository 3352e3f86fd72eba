"""Inbox (applied events) and outbox (events to publish).

Revision ID: 0001
Revises:
"""

from shared.platform.inbox import INBOX_DDL
from shared.platform.migrations import run_sql
from shared.platform.outbox import OUTBOX_DDL

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(INBOX_DDL)
    run_sql(OUTBOX_DDL)


def downgrade() -> None:
    run_sql("DROP TABLE outbox; DROP TABLE inbox;")
