"""The statutory chain's state on the case row: an extension request awaiting the unit head,
an open hearing, key-case status and urges, a group visit's representatives (encrypted).

Revision ID: 0011
Revises: 0010
"""

from shared.platform.migrations import run_sql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UP = """
-- Days asked for by a handler's extension request not yet answered by the unit head.
ALTER TABLE cases ADD COLUMN extension_requested_days integer;
ALTER TABLE cases ADD COLUMN hearing_open boolean NOT NULL DEFAULT false;
-- Key case (领导包案): from routing's assignment, a staff flag, or a second urge.
ALTER TABLE cases ADD COLUMN key_case boolean NOT NULL DEFAULT false;
ALTER TABLE cases ADD COLUMN urges integer NOT NULL DEFAULT 0;
-- A group visit's representatives (Art. 20), as one AES-GCM ciphertext like the petitioner's.
ALTER TABLE cases ADD COLUMN representatives_enc bytea;
ALTER TABLE cases ADD COLUMN representatives integer NOT NULL DEFAULT 0;
-- A leader's case list: their key cases.
CREATE INDEX cases_leader_key ON cases (leader, received_at) WHERE key_case;
"""


def upgrade() -> None:
    run_sql(UP)


def downgrade() -> None:
    run_sql("""
DROP INDEX cases_leader_key;
ALTER TABLE cases DROP COLUMN representatives, DROP COLUMN representatives_enc,
    DROP COLUMN urges, DROP COLUMN key_case, DROP COLUMN hearing_open,
    DROP COLUMN extension_requested_days;
""")
