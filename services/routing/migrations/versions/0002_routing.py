"""Rule-set versions, the petitions index (repeat and duplicate detection) and the history of
routing decisions per case.

Revision ID: 0002
Revises: 0001
"""

from shared.platform.migrations import run_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = """
-- Every rule set ever loaded, as submitted; exactly one is active. Decisions keep the version
-- that made them, so an old decision stays explainable after the rules change.
CREATE TABLE rule_sets (
    version      integer     PRIMARY KEY CHECK (version > 0),
    source       text        NOT NULL,
    digest       text        NOT NULL,
    active       boolean     NOT NULL DEFAULT false,
    stored_by    text        NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz
);
CREATE UNIQUE INDEX rule_sets_one_active ON rule_sets ((true)) WHERE active;

-- One row per case routing has seen: what repeat and duplicate detection compare (no personal
-- data: a pseudonymous petitioner key and a keyed content sketch), the case's lifecycle status
-- as intake's step events report it, and how routing disposed of it.
CREATE TABLE petitions (
    case_id          uuid        PRIMARY KEY,
    petitioner_key   text,
    channel          text        NOT NULL,
    jurisdiction     text        NOT NULL,
    category         text        NOT NULL,
    signers          integer     NOT NULL,
    subject_unit     text,
    subject_person   text,
    signature        bytea       NOT NULL,  -- the content sketch, 8 bytes per hash
    received_at      timestamptz NOT NULL,
    status           text        NOT NULL,
    status_seq       integer     NOT NULL,
    accepted_on      date,
    extended_days    integer,
    handling_due     date,
    key_reasons      text[]      NOT NULL DEFAULT '{}',
    objected_units   text[]      NOT NULL DEFAULT '{}',
    outcome          text        NOT NULL CHECK (outcome IN ('assigned', 'transferred', 'linked')),
    linked_to        uuid,
    link_kind        text CHECK (link_kind IN ('repeat', 'duplicate', 'final_repeat')),
    link_similarity  double precision,
    decided_at       timestamptz NOT NULL,
    CHECK ((outcome = 'linked') = (linked_to IS NOT NULL AND link_kind IS NOT NULL))
);
CREATE INDEX petitions_by_petitioner ON petitions (petitioner_key)
    WHERE petitioner_key IS NOT NULL;

-- Every decision that put a case somewhere, in order: the first assignment, reassignments after
-- an objection or by staff, a leader added when the case became key, a transfer out. The
-- highest version is the current one. Rows are written only for a petitions row inserted or
-- locked in the same transaction, so no foreign keys: each would fire a trigger per inserted
-- row on the consumer's hot path (benchmarks/routing.py).
CREATE TABLE assignments (
    case_id            uuid        NOT NULL,
    assignment_version integer     NOT NULL CHECK (assignment_version > 0),
    unit               text,
    transfer_body      text,
    leader             text,
    leader_title       text,
    leader_unit        text,
    rule_id            text        NOT NULL,
    rule_version       integer     NOT NULL,  -- rule_sets.version; rule sets are never deleted
    reasons            text[]      NOT NULL,
    key_case           boolean     NOT NULL,
    cause              text        NOT NULL
        CHECK (cause IN ('initial', 'objection', 'reassign', 'escalation')),
    note               text,
    actor              text        NOT NULL,
    event_id           uuid        NOT NULL,  -- unique in the outbox already
    decided_at         timestamptz NOT NULL,
    PRIMARY KEY (case_id, assignment_version),
    CHECK ((unit IS NULL) <> (transfer_body IS NULL))
);
"""


def upgrade() -> None:
    run_sql(SCHEMA)


def downgrade() -> None:
    run_sql("DROP TABLE assignments;\nDROP TABLE petitions;\nDROP TABLE rule_sets;")
