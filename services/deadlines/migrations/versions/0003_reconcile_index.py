"""An index on the received instant, for the reconciliation counts per received day.

Revision ID: 0003
Revises: 0002
"""

from shared.platform.migrations import run_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("CREATE INDEX cases_received_at ON cases (received_at);")


def downgrade() -> None:
    run_sql("DROP INDEX cases_received_at;")
