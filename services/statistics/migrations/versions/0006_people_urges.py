"""People (人次) and urges (督办) beside the cases: two more counts in the journal and the
aggregates, the facts they come from on each case, and the covering indexes widened to them.

A database created after this change has them already (0002 creates the projection as the code
declares it), hence IF NOT EXISTS; rebuilding the covering indexes is harmless there. Cases
projected before this revision count no people and no urges until ``xf stats rebuild --swap``
replays the topics (the events always carried the head count and the urges).

Revision ID: 0006
Revises: 0005
"""

from shared.platform.migrations import run_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Written out, not imported: a landed migration must not change when the code does.
OLD_COUNTS = ("received, closed, closed_on_time, feedback_eligible, feedback_given, rated, "
              "satisfied, basically_satisfied, overdue")
COUNTS = OLD_COUNTS + ", people, urges"
READ = ("unit_key, overdue_unit_key, received_at, e_closed, on_time, eligible, e_feedback, "
        "e_rated, rating_class, e_overdue")


def _dimension_indexes(extra: str) -> str:
    others = {"channel": "jurisdiction, category", "jurisdiction": "channel, category",
              "category": "channel, jurisdiction"}
    return "\n".join(
        f"DROP INDEX IF EXISTS case_fact_{dim};\n"
        f"CREATE INDEX case_fact_{dim} ON case_fact ({dim}, r_day)\n"
        f"    INCLUDE ({rest}, {READ}{extra}) WHERE counted;"
        for dim, rest in others.items())


def _aggregate_keys(counts: str) -> str:
    return f"""
ALTER TABLE cube DROP CONSTRAINT IF EXISTS cube_pkey;
ALTER TABLE cube ADD PRIMARY KEY (gs, rl, el, rb, eb, k) INCLUDE ({counts});
DROP INDEX IF EXISTS cube_by_effective_day;
CREATE INDEX cube_by_effective_day ON cube (gs, rl, eb, rb) INCLUDE (k, {counts})
    WHERE el = 0;
ALTER TABLE month_totals DROP CONSTRAINT IF EXISTS month_totals_pkey;
ALTER TABLE month_totals ADD PRIMARY KEY (dims, channel, jurisdiction, category, unit, rb)
    INCLUDE ({counts});
"""


def upgrade() -> None:
    added = ", ".join(f"ADD COLUMN IF NOT EXISTS {c} integer NOT NULL DEFAULT 0"
                      for c in ("people", "urges"))
    run_sql(f"""
ALTER TABLE case_fact ADD COLUMN IF NOT EXISTS signers integer,
    ADD COLUMN IF NOT EXISTS urged_at jsonb, ADD COLUMN IF NOT EXISTS people integer,
    ADD COLUMN IF NOT EXISTS e_urges jsonb, ADD COLUMN IF NOT EXISTS e_last_urge timestamptz;
ALTER TABLE journal {added};
ALTER TABLE cube {added};
ALTER TABLE month_totals {added};
CREATE INDEX IF NOT EXISTS case_fact_urged ON case_fact (e_last_urge)
    WHERE counted AND e_last_urge IS NOT NULL;
{_dimension_indexes(", people, e_urges")}
{_aggregate_keys(COUNTS)}
""")


def downgrade() -> None:
    # Dropping a column drops the indexes that include it: the earlier ones are put back.
    dropped = "DROP COLUMN people, DROP COLUMN urges"
    run_sql(f"""
DROP INDEX IF EXISTS case_fact_urged;
ALTER TABLE month_totals {dropped};
ALTER TABLE cube {dropped};
ALTER TABLE journal {dropped};
ALTER TABLE case_fact DROP COLUMN e_last_urge, DROP COLUMN e_urges, DROP COLUMN people,
    DROP COLUMN urged_at, DROP COLUMN signers;
{_dimension_indexes("")}
{_aggregate_keys(OLD_COUNTS)}
""")
