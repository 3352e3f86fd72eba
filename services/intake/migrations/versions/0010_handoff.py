"""The assigning body's reference number of a handed-off case (交办文号).

Revision ID: 0010
Revises: 0009
"""

from shared.platform.migrations import run_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("ALTER TABLE cases ADD COLUMN assigned_ref text;")


def downgrade() -> None:
    run_sql("ALTER TABLE cases DROP COLUMN assigned_ref;")
