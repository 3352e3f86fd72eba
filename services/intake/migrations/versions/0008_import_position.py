"""Imports resume where they stopped and know the file they read.

Revision ID: 0008
Revises: 0007
"""

from shared.platform.migrations import run_sql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UP = """
-- sha256 of the uploaded file: rows without an external id are named after it and their line.
ALTER TABLE imports ADD COLUMN content_hash text;
-- Byte offset just past the last row counted: a resumed import seeks there.
ALTER TABLE imports ADD COLUMN bytes_done bigint NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN size_bytes bigint;
-- A client's unfinished imports, counted against its limit on every upload.
CREATE INDEX imports_unfinished ON imports (submitted_by) WHERE status IN ('queued', 'running');
"""


def upgrade() -> None:
    run_sql(UP)


def downgrade() -> None:
    run_sql("DROP INDEX imports_unfinished; ALTER TABLE imports DROP COLUMN size_bytes, "
            "DROP COLUMN bytes_done, DROP COLUMN content_hash;")
