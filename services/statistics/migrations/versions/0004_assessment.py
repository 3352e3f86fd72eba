"""The assessment indicators' facts and columns on case_fact, and their indexes.

A database created after this change has them already (0002 creates the projection as the code
declares it), hence IF NOT EXISTS. Cases projected before it lack the new facts until the
projection is rebuilt from the topics (``xf stats rebuild --swap``).

Revision ID: 0004
Revises: 0003
"""

from shared.platform.migrations import run_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Written out, not imported: a landed migration must not change when the code does.
COLUMNS = (
    ("decided_at", "timestamptz"), ("declined_at", "timestamptz"),
    ("replied_at", "timestamptz"), ("link_kind", "text"), ("linked_at", "timestamptz"),
    ("key_case", "boolean"), ("flagged_key", "boolean"),
    ("review_requested_at", "timestamptz"), ("assigned_by", "text"),
    ("report_back_due", "date"), ("report_back_due_at", "timestamptz"),
    ("accept_due", "date"), ("accept_late_at", "timestamptz"), ("e_decided", "timestamptz"),
    ("accepted_on_time", "boolean"), ("e_answered", "timestamptz"),
    ("answer_on_time", "boolean"), ("e_repeat", "timestamptz"), ("key", "boolean"),
    ("e_review", "timestamptz"), ("handoff", "boolean"), ("e_reported", "timestamptz"),
    ("report_back_late_at", "timestamptz"), ("reported_on_time", "boolean"),
)
INDEXES = """
CREATE INDEX IF NOT EXISTS case_fact_accept_due ON case_fact (accept_due)
    WHERE counted AND accept_due IS NOT NULL;
CREATE INDEX IF NOT EXISTS case_fact_answered ON case_fact (e_answered)
    WHERE counted AND e_answered IS NOT NULL;
CREATE INDEX IF NOT EXISTS case_fact_handoff ON case_fact (received_at) WHERE counted AND handoff;
"""


def upgrade() -> None:
    for name, kind in COLUMNS:
        run_sql(f"ALTER TABLE case_fact ADD COLUMN IF NOT EXISTS {name} {kind};")
    run_sql(INDEXES)


def downgrade() -> None:
    run_sql("DROP INDEX case_fact_handoff; DROP INDEX case_fact_answered; "
            "DROP INDEX case_fact_accept_due;")
    for name, _ in COLUMNS:
        run_sql(f"ALTER TABLE case_fact DROP COLUMN {name};")
