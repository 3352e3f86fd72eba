"""Attribution: the account or machine client behind every timeline step and personal-data
read (``actor`` stays the public face: a unit, a channel or a role).

Revision ID: 0005
Revises: 0004
"""

from shared.platform.migrations import run_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UP = """
ALTER TABLE case_timeline ADD COLUMN actor_id text, ADD COLUMN actor_name text;
ALTER TABLE personal_data_reads ADD COLUMN actor_id text;
ALTER TABLE imports ADD COLUMN submitted_by_name text;
"""


def upgrade() -> None:
    run_sql(UP)


def downgrade() -> None:
    run_sql("""
ALTER TABLE imports DROP COLUMN submitted_by_name;
ALTER TABLE personal_data_reads DROP COLUMN actor_id;
ALTER TABLE case_timeline DROP COLUMN actor_name, DROP COLUMN actor_id;
""")
