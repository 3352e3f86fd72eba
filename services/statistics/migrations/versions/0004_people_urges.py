"""People (人次) and urges (督办) beside the cases: two more counts in the journal and the
aggregates, the facts they come from on each case, and the covering indexes widened to them.

Cases projected before this revision count no people and no urges until ``xf stats rebuild
--swap`` replays the topics (the events always carried signers).

Revision ID: 0004
Revises: 0003
"""

from services.statistics.schema import COUNT_COLUMNS, URGES_INDEX, dimension_indexes
from shared.platform.migrations import run_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_NEW = ("people", "urges")
_COUNTS = ", ".join(COUNT_COLUMNS)


def upgrade() -> None:
    added = ", ".join(f"ADD COLUMN {c} integer NOT NULL DEFAULT 0" for c in _NEW)
    run_sql(f"""
ALTER TABLE case_fact ADD COLUMN signers integer, ADD COLUMN urged_at jsonb,
    ADD COLUMN people integer, ADD COLUMN e_urges jsonb, ADD COLUMN e_last_urge timestamptz;
ALTER TABLE journal {added};
ALTER TABLE cube {added};
ALTER TABLE month_totals {added};
{URGES_INDEX}
DROP INDEX case_fact_channel;
DROP INDEX case_fact_jurisdiction;
DROP INDEX case_fact_category;
{dimension_indexes()}
ALTER TABLE cube DROP CONSTRAINT cube_pkey,
    ADD PRIMARY KEY (gs, rl, el, rb, eb, k) INCLUDE ({_COUNTS});
DROP INDEX cube_by_effective_day;
CREATE INDEX cube_by_effective_day ON cube (gs, rl, eb, rb) INCLUDE (k, {_COUNTS})
    WHERE el = 0;
ALTER TABLE month_totals DROP CONSTRAINT month_totals_pkey,
    ADD PRIMARY KEY (dims, channel, jurisdiction, category, unit, rb) INCLUDE ({_COUNTS});
""")


def downgrade() -> None:
    # Dropping a column drops the indexes that include it: put the earlier ones back.
    dropped = ", ".join(f"DROP COLUMN {c}" for c in _NEW)
    old = ", ".join(c for c in COUNT_COLUMNS if c not in _NEW)
    read = ("jurisdiction, category, unit_key, overdue_unit_key, received_at, e_closed, "
            "on_time, eligible, e_feedback, e_rated, rating_class, e_overdue")
    run_sql(f"""
ALTER TABLE month_totals {dropped};
ALTER TABLE month_totals ADD PRIMARY KEY (dims, channel, jurisdiction, category, unit, rb)
    INCLUDE ({old});
ALTER TABLE cube {dropped};
ALTER TABLE cube ADD PRIMARY KEY (gs, rl, el, rb, eb, k) INCLUDE ({old});
CREATE INDEX cube_by_effective_day ON cube (gs, rl, eb, rb) INCLUDE (k, {old}) WHERE el = 0;
ALTER TABLE journal {dropped};
ALTER TABLE case_fact DROP COLUMN e_last_urge, DROP COLUMN e_urges, DROP COLUMN people,
    DROP COLUMN urged_at, DROP COLUMN signers;
CREATE INDEX case_fact_channel ON case_fact (channel, r_day)
    INCLUDE ({read}) WHERE counted;
CREATE INDEX case_fact_jurisdiction ON case_fact (jurisdiction, r_day)
    INCLUDE (channel, {read.replace("jurisdiction, ", "")}) WHERE counted;
CREATE INDEX case_fact_category ON case_fact (category, r_day)
    INCLUDE (channel, {read.replace("category, ", "")}) WHERE counted;
""")
