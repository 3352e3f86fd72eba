"""Free text with personal data masked: the originals, encrypted, and what was masked.

Revision ID: 0007
Revises: 0006
"""

from shared.platform.migrations import run_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # title/content hold the masked text units read; when something was masked, the text as
    # the petitioner wrote it is kept here (AES-GCM of a JSON {title, content}) for staff, and
    # masked_note says what was hidden (it goes onto the registration step of the timeline).
    run_sql("ALTER TABLE cases ADD COLUMN free_text_enc bytea, ADD COLUMN masked_note text;")


def downgrade() -> None:
    run_sql("ALTER TABLE cases DROP COLUMN free_text_enc, DROP COLUMN masked_note;")
