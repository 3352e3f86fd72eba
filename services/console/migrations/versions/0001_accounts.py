"""Accounts (persons who sign in) and failed-login counts (the lockout).

Revision ID: 0001
Revises:
"""

from shared.platform.migrations import run_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UP = """
CREATE TABLE accounts (
    account_id    uuid        PRIMARY KEY,
    username      text        NOT NULL UNIQUE,
    display_name  text        NOT NULL,
    role          text        NOT NULL
                  CHECK (role IN ('clerk', 'handler', 'unit_head', 'leader', 'staff', 'admin')),
    -- The unit of a handler or unit head; the channels a clerk registers on.
    unit          text        CHECK ((unit IS NOT NULL) = (role IN ('handler', 'unit_head'))),
    channels      text[]      NOT NULL DEFAULT '{}',
    password_hash text        NOT NULL,
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text        NOT NULL,
    updated_at    timestamptz,
    updated_by    text,
    last_login_at timestamptz
);

-- Failed sign-ins per username (also unknown ones: the answer must not tell them apart).
CREATE TABLE login_failures (
    username         text        PRIMARY KEY,
    failures         integer     NOT NULL DEFAULT 0,
    first_failure_at timestamptz,
    locked_until     timestamptz
);
"""


def upgrade() -> None:
    run_sql(UP)


def downgrade() -> None:
    run_sql("DROP TABLE login_failures; DROP TABLE accounts;")
