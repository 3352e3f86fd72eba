"""What the lifecycle needs on the case record: windows, milestones, links.

Revision ID: 0003
Revises: 0002
"""

from shared.platform.migrations import run_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = {
    "objection_due": "date",
    "replied_at": "timestamptz",
    "reviewed_at": "timestamptz",
    "rating": "text",
    "transfer_to": "text",
    "linked_to": "uuid",
    "link_kind": "text",
}


def upgrade() -> None:
    for name, kind in COLUMNS.items():
        run_sql(f"ALTER TABLE cases ADD COLUMN {name} {kind};")


def downgrade() -> None:
    for name in COLUMNS:
        run_sql(f"ALTER TABLE cases DROP COLUMN {name};")
