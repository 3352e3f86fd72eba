"""The projection's tables, declared once: the migration creates them in ``public`` and
``xf stats rebuild`` creates them in a fresh schema (statements use unqualified names and run
under that schema's ``search_path``).

- ``case_fact``: one row per case: the raw facts (see facts.CaseFacts) and the derived columns
  the queries read (facts.Derived). Partial indexes serve the two exact paths of the queries:
  the effective instant of each count (the partial-day correction) and dimension × received
  day (queries filtered on two or more dimensions).
- ``journal``: signed point deltas written by the consumers in the transaction that changes
  the facts; insert-only, so consumers on several instances never contend on a row.
- ``cube``: the deltas summed, by grouping set (``gs``: 0 all, 1 channel, 2 jurisdiction,
  3 category, 4 unit; ``k`` the value), received bucket (``rl`` 0 day / 1 month, ``rb``) and
  effective bucket (``el`` 0 day / 1 month, ``eb``). One writer at a time (the folder).
- ``month_totals``: all-time sums by received month for every combination of two or three of
  channel, jurisdiction, category and unit (``dims`` a bitmask: 1, 2, 4, 8; absent ones '').
  A received month whose every point lies before ``as_of`` ("settled") is read from here.
- ``rmonth_max``: the latest effective instant among the points of each received month, so a
  query knows which months are settled as of its ``as_of``.
- ``totals``: all-time received and closed by jurisdiction × category, for the live gauges.
- ``calendar_versions``: the calendar's versions (shared.platform.calendar_versions); part of
  the projection, so a rebuild folds them into its fresh schema too.
"""

from __future__ import annotations

from services.statistics.assessment import ASSESSED_COLUMNS
from shared.platform.calendar_versions import CALENDAR_VERSIONS_DDL
from shared.platform.inbox import INBOX_DDL

# The raw facts of the assessment indicators (facts.CaseFacts' fields after overdue_unit, in
# order).
ASSESSMENT_FACTS: tuple[tuple[str, str], ...] = (
    ("decided_at", "timestamptz"), ("declined_at", "timestamptz"),
    ("replied_at", "timestamptz"), ("link_kind", "text"), ("linked_at", "timestamptz"),
    ("key_case", "boolean"), ("flagged_key", "boolean"),
    ("review_requested_at", "timestamptz"), ("assigned_by", "text"),
    ("report_back_due", "date"), ("report_back_due_at", "timestamptz"),
)
# The indicator queries' paths: acceptances due by their due date, answers by their instant,
# hand-offs by receipt (assessment_queries.py); the others ride case_fact_received.
ASSESSMENT_INDEXES = """
CREATE INDEX case_fact_accept_due ON case_fact (accept_due)
    WHERE counted AND accept_due IS NOT NULL;
CREATE INDEX case_fact_answered ON case_fact (e_answered)
    WHERE counted AND e_answered IS NOT NULL;
CREATE INDEX case_fact_handoff ON case_fact (received_at) WHERE counted AND handoff;
"""

COUNT_COLUMNS = ("received", "closed", "closed_on_time", "feedback_eligible", "feedback_given",
                 "rated", "satisfied", "basically_satisfied", "overdue", "people", "urges")

# (name, SQL type) of case_fact's columns after the key, in the order the store writes them.
FACT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("registered", "boolean"), ("duplicate", "boolean"), ("channel", "text"),
    ("jurisdiction", "text"), ("category", "text"), ("received_at", "timestamptz"),
    ("reachable", "boolean"), ("unit", "text"), ("unit_version", "integer"),
    ("unit_at", "timestamptz"), ("step_unit", "text"), ("step_unit_at", "timestamptz"),
    ("accepted_at", "timestamptz"), ("extension_days", "integer"),
    ("extended_at", "timestamptz"), ("closed_at", "timestamptz"),
    ("feedback_at", "timestamptz"), ("rating", "text"), ("rated_at", "timestamptz"),
    ("overdue_at", "timestamptz"), ("overdue_unit", "text"), ("overdue_alerts", "text"),
    *ASSESSMENT_FACTS,
    # Lists of instants as JSON (the upsert unnests one array per column: no nested arrays).
    ("signers", "integer"), ("urged_at", "jsonb"),
    # derived
    ("counted", "boolean"), ("r_day", "date"), ("unit_key", "text"),
    ("e_closed", "timestamptz"), ("on_time", "boolean"), ("eligible", "boolean"),
    ("e_feedback", "timestamptz"), ("e_rated", "timestamptz"), ("rating_class", "smallint"),
    ("e_overdue", "timestamptz"), ("overdue_unit_key", "text"),
    ("people", "integer"), ("e_urges", "jsonb"), ("e_last_urge", "timestamptz"),
    *ASSESSED_COLUMNS,
)

_COUNTS_DDL = ",\n    ".join(f"{c} integer NOT NULL" for c in COUNT_COLUMNS)
_COUNTS = ", ".join(COUNT_COLUMNS)
# What the exact path reads from a case row besides the indexed dimension and day.
_FACT_READ = ("channel", "jurisdiction", "category", "unit_key", "overdue_unit_key",
              "received_at", "e_closed", "on_time", "eligible", "e_feedback", "e_rated",
              "rating_class", "e_overdue", "people", "e_urges")


URGES_INDEX = ("CREATE INDEX case_fact_urged ON case_fact (e_last_urge) "
               "WHERE counted AND e_last_urge IS NOT NULL;")


def dimension_indexes() -> str:
    return "\n".join(
        f"CREATE INDEX case_fact_{dim} ON case_fact ({dim}, r_day)\n"
        f"    INCLUDE ({', '.join(c for c in _FACT_READ if c != dim)}) WHERE counted;"
        for dim in ("channel", "jurisdiction", "category"))
_FACTS_DDL = ",\n    ".join(f"{name} {sqltype}" for name, sqltype in FACT_COLUMNS)

PROJECTION_DDL = f"""
CREATE TABLE case_fact (
    case_id text PRIMARY KEY,
    {_FACTS_DDL}
);
CREATE INDEX case_fact_received ON case_fact (received_at) WHERE counted;
CREATE INDEX case_fact_closed ON case_fact (e_closed) WHERE counted AND e_closed IS NOT NULL;
CREATE INDEX case_fact_feedback ON case_fact (e_feedback)
    WHERE counted AND e_feedback IS NOT NULL;
CREATE INDEX case_fact_rated ON case_fact (e_rated) WHERE counted AND e_rated IS NOT NULL;
CREATE INDEX case_fact_overdue ON case_fact (e_overdue) WHERE counted AND e_overdue IS NOT NULL;
{URGES_INDEX}
-- Covering, so the exact path reads index pages only (old rows are all-visible).
{dimension_indexes()}
CREATE INDEX case_fact_all_dims ON case_fact (channel, jurisdiction, category, r_day)
    WHERE counted;
{ASSESSMENT_INDEXES}
CREATE TABLE journal (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    r_day date NOT NULL,
    channel text NOT NULL,
    jurisdiction text NOT NULL,
    category text NOT NULL,
    unit text NOT NULL,
    e_at timestamptz NOT NULL,
    e_day date NOT NULL,
    {_COUNTS_DDL}
);

CREATE TABLE cube (
    gs smallint NOT NULL,
    k text NOT NULL,
    rl smallint NOT NULL,
    rb date NOT NULL,
    el smallint NOT NULL,
    eb date NOT NULL,
    {_COUNTS_DDL},
    -- Covering: a query reads index pages only (in key order), not scattered heap pages.
    PRIMARY KEY (gs, rl, el, rb, eb, k) INCLUDE ({_COUNTS})
);
-- The current month's effective days are found by their day, then their received bucket.
CREATE INDEX cube_by_effective_day ON cube (gs, rl, eb, rb) INCLUDE (k, {_COUNTS})
    WHERE el = 0;

CREATE TABLE month_totals (
    dims smallint NOT NULL,
    channel text NOT NULL,
    jurisdiction text NOT NULL,
    category text NOT NULL,
    unit text NOT NULL,
    rb date NOT NULL,
    {_COUNTS_DDL},
    PRIMARY KEY (dims, channel, jurisdiction, category, unit, rb) INCLUDE ({_COUNTS})
);

CREATE TABLE rmonth_max (
    rb date PRIMARY KEY,
    e_max timestamptz NOT NULL
);

CREATE TABLE totals (
    jurisdiction text NOT NULL,
    category text NOT NULL,
    received bigint NOT NULL,
    closed bigint NOT NULL,
    PRIMARY KEY (jurisdiction, category)
);
"""

# Every table of a projection, in the order a swap moves them.
TABLES = ("inbox", "case_fact", "journal", "cube", "month_totals", "rmonth_max", "totals",
          "calendar_versions")
# Dimension bitmasks of month_totals: every combination of two or three dimensions.
DIM_BITS = {"channel": 1, "jurisdiction": 2, "category": 4, "unit": 8}
MONTH_TOTAL_SETS = (3, 5, 6, 9, 10, 12, 7, 11, 13, 14)


def fresh_projection_ddl() -> str:
    """The DDL of a complete projection, inbox and calendar included (a rebuild's schema)."""
    return INBOX_DDL + PROJECTION_DDL + CALENDAR_VERSIONS_DDL
