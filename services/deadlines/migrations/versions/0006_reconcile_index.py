"""An index on the received instant, for the reconciliation counts per received day.

Revision ID: 0006
Revises: 0005
"""

from shared.platform.migrations import run_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("CREATE INDEX cases_received_at ON cases (received_at);")


def downgrade() -> None:
    run_sql("DROP INDEX cases_received_at;")
