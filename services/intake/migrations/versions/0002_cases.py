"""Cases (the system of record), their timeline, personal-data read audit, imports.

Revision ID: 0002
Revises: 0001
"""

from shared.platform.migrations import run_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UP = """
CREATE TABLE cases (
    case_id             uuid PRIMARY KEY,
    tracking_no         text        NOT NULL UNIQUE,
    query_code_enc      bytea       NOT NULL,
    channel             text        NOT NULL,
    external_id         text,
    jurisdiction        text        NOT NULL,
    category            text        NOT NULL,
    title               text        NOT NULL,
    content             text        NOT NULL,
    received_at         timestamptz NOT NULL,
    registered_at       timestamptz NOT NULL,
    status              text        NOT NULL,
    version             integer     NOT NULL DEFAULT 1,
    signers             integer     NOT NULL CHECK (signers >= 1),
    anonymous           boolean     NOT NULL,
    reachable           boolean     NOT NULL,
    petitioner_key      text,
    -- AES-256-GCM ciphertexts (nonce || ciphertext || tag), bound to case id and field.
    petitioner_name_enc     bytea,
    petitioner_id_enc       bytea,
    petitioner_phone_enc    bytea,
    petitioner_address_enc  bytea,
    subject_unit        text,
    subject_person      text,
    assigned_by         text,
    assigned_unit       text,
    assignment_version  integer     NOT NULL DEFAULT 0,
    leader              text,
    extended_days       integer,
    last_action_at      timestamptz NOT NULL,
    UNIQUE (channel, external_id)
);
CREATE INDEX cases_received_at ON cases (received_at);
CREATE INDEX cases_status ON cases (status);

CREATE TABLE case_timeline (
    case_id     uuid        NOT NULL REFERENCES cases (case_id),
    seq         integer     NOT NULL,
    action      text        NOT NULL,
    status      text        NOT NULL,
    at          timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    -- Shown to the petitioner on the tracking page.
    public_note text,
    -- Staff only: never on the tracking page, never in events.
    internal_note text,
    details     jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (case_id, seq)
);

CREATE TABLE personal_data_reads (
    id          bigserial PRIMARY KEY,
    case_id     uuid        NOT NULL REFERENCES cases (case_id),
    actor       text        NOT NULL,
    role        text        NOT NULL,
    fields      text[]      NOT NULL,
    read_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX personal_data_reads_case ON personal_data_reads (case_id);

CREATE TABLE imports (
    import_id    uuid PRIMARY KEY,
    format       text        NOT NULL CHECK (format IN ('csv', 'jsonl')),
    status       text        NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    submitted_by text        NOT NULL,
    principal    jsonb       NOT NULL,
    total        integer     NOT NULL DEFAULT 0,
    accepted     integer     NOT NULL DEFAULT 0,
    duplicates   integer     NOT NULL DEFAULT 0,
    rejected     integer     NOT NULL DEFAULT 0,
    -- Lines fully handled: a resumed import starts after them.
    lines_done   integer     NOT NULL DEFAULT 0,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

CREATE TABLE import_errors (
    import_id   uuid    NOT NULL REFERENCES imports (import_id),
    line        integer NOT NULL,
    field       text    NOT NULL,
    message     text    NOT NULL
);
CREATE INDEX import_errors_import ON import_errors (import_id, line);
"""


def upgrade() -> None:
    run_sql(UP)


def downgrade() -> None:
    for table in ("import_errors", "imports", "personal_data_reads", "case_timeline", "cases"):
        run_sql(f"DROP TABLE {table};")
