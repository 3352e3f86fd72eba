"""An index on the received instant, for the reconciliation counts per received day.

Revision ID: 0005
Revises: 0004
"""

from shared.platform.migrations import run_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("CREATE INDEX petitions_received_at ON petitions (received_at);")


def downgrade() -> None:
    run_sql("DROP INDEX petitions_received_at;")
