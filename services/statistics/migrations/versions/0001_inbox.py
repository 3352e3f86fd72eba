"""Inbox (applied events).

Revision ID: 0001
Revises:
"""

from shared.platform.inbox import INBOX_DDL
from shared.platform.migrations import run_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(INBOX_DDL)


def downgrade() -> None:
    run_sql("DROP TABLE inbox;")
