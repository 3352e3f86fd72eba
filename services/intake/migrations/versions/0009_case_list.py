"""Indexes of the case list (GET /v1/cases): a unit's cases by status, a clerk's registrations.

Revision ID: 0009
Revises: 0008
"""

from shared.platform.migrations import run_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("CREATE INDEX cases_unit_status ON cases (assigned_unit, status, received_at);")
    # The first step is the registration: its actor is the clerk who registered the case.
    run_sql("CREATE INDEX case_timeline_registered_by ON case_timeline (actor_id) "
            "WHERE seq = 1;")


def downgrade() -> None:
    run_sql("DROP INDEX case_timeline_registered_by;")
    run_sql("DROP INDEX cases_unit_status;")
