"""The tamper-evident audit (shared.platform.audit): append-only, hash-chained.

Revision ID: 0006
Revises: 0005
"""

from shared.platform.audit import AUDIT_DDL, AUDIT_DROP
from shared.platform.migrations import run_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql(AUDIT_DDL)


def downgrade() -> None:
    run_sql(AUDIT_DROP)
