"""The tamper-evident audit (shared.platform.audit): append-only, hash-chained.

Revision ID: 0004
Revises: 0003
"""

from shared.platform.audit import AUDIT_DDL, AUDIT_DROP
from shared.platform.migrations import run_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(AUDIT_DDL)


def downgrade() -> None:
    run_sql(AUDIT_DROP)
