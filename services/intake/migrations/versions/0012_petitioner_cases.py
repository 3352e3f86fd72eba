"""The open cases of one petitioner, looked up before a registration is saved
(POST /v1/cases/similar): by the pseudonymous key, newest first.

Revision ID: 0012
Revises: 0011
"""

from shared.platform.migrations import run_sql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("CREATE INDEX cases_petitioner_key ON cases (petitioner_key, received_at) "
            "WHERE petitioner_key IS NOT NULL;")


def downgrade() -> None:
    run_sql("DROP INDEX cases_petitioner_key;")
