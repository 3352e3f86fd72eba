"""The deadlines service's tables, declared once: the migration applies this script, and the
benchmark applies it to a scratch schema so it can measure the real indexes.

Why each index exists:
- ``timers_next_fire``: the sweep's only access path. Partial (``next_fire_at IS NOT NULL``):
  a timer with nothing left to fire leaves the index, so an idle sweep reads one index page
  whatever the number of open timers.
- ``timers_open_due``: open timers by due date, for the gauges ("due within 7 days", overdue)
  and the calendar recomputation of one year, without scanning closed timers.
- ``timers_overdue``: ``GET /v1/overdue`` reads only overdue rows.
"""

from __future__ import annotations

from shared.domain.statuses import OPEN_TIMER_STATUSES, TimerStatus

OPEN_STATUSES = tuple(str(s) for s in OPEN_TIMER_STATUSES)
STATUSES = tuple(str(s) for s in TimerStatus)

_STATUS_LIST = ", ".join(f"'{s}'" for s in STATUSES)
_OPEN_LIST = ", ".join(f"'{s}'" for s in OPEN_STATUSES)

DDL = f"""
-- What this service knows of each case: its jurisdiction (from case.registered) and its
-- current unit (the highest assignment version; else the unit named by its latest step).
CREATE TABLE cases (
    case_id      text        PRIMARY KEY,
    received_at  timestamptz,
    jurisdiction text,
    unit         text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_unit ON cases (unit);
CREATE INDEX cases_jurisdiction ON cases (jurisdiction);

-- The events that start, move or end timers, as they came (no personal data). Timers are
-- derived from a case's whole set of facts, so the order the events arrive in does not matter.
CREATE TABLE case_facts (
    event_id   uuid        PRIMARY KEY,
    case_id    text        NOT NULL,
    type       text        NOT NULL,
    at         timestamptz NOT NULL,
    sequence   bigint,  -- the step's sequence, or the assignment version
    days       integer,
    unit       text
);
CREATE INDEX case_facts_case ON case_facts (case_id);

CREATE TABLE timers (
    id              bigserial   PRIMARY KEY,
    case_id         text        NOT NULL,
    kind            text        NOT NULL,
    round           integer     NOT NULL DEFAULT 0,  -- objection: the assignment version
    is_window       boolean     NOT NULL,  -- a party's option (lapses), not a duty (overdue)
    start_event_id  uuid        NOT NULL,
    start_type      text        NOT NULL,
    start_at        timestamptz NOT NULL,
    start_date      date        NOT NULL,  -- Asia/Shanghai date of start_at
    mode            text        NOT NULL,  -- counting mode in force when the timer started
    day_unit        text        NOT NULL,  -- calendar | working
    length_days     integer     NOT NULL,
    extension_days  integer     NOT NULL DEFAULT 0,
    rule            text        NOT NULL,
    article         text        NOT NULL,
    due_date        date        NOT NULL,
    provisional     boolean     NOT NULL,
    status          text        NOT NULL CHECK (status IN ({_STATUS_LIST})),
    outcome         text,
    warned          smallint[]  NOT NULL DEFAULT '{{}}',  -- warnings sent (days before)
    fired_days      smallint,  -- latest alert level handled: days before, -1 = overdue
    overdue_at      timestamptz,
    next_fire_at    timestamptz,
    ended_at        timestamptz,
    ended_by        uuid,
    ended_by_type   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, kind, round)
);
CREATE INDEX timers_next_fire ON timers (next_fire_at) WHERE next_fire_at IS NOT NULL;
CREATE INDEX timers_open_due ON timers (due_date) WHERE status IN ({_OPEN_LIST});
CREATE INDEX timers_overdue ON timers (due_date) WHERE status = 'overdue';

-- Every change of a timer's due date (extension, calendar change): the case's history.
CREATE TABLE timer_history (
    id               bigserial   PRIMARY KEY,
    timer_id         bigint      NOT NULL REFERENCES timers (id),
    changed_at       timestamptz NOT NULL,
    old_due_date     date        NOT NULL,
    new_due_date     date        NOT NULL,
    old_provisional  boolean     NOT NULL,
    new_provisional  boolean     NOT NULL,
    reason           text        NOT NULL,  -- extension | calendar | recount
    cause            text        NOT NULL,  -- the event id, or calendar:<year>@<revision>
    recorded_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX timer_history_timer ON timer_history (timer_id);

-- The operators' calendar overlay: one row per year (replaces the library's data for it).
-- `revision` grows with every change so each instance knows when to reload its calendar,
-- `file_digest` is the overlay file's entry last applied, so a restart with the same file does
-- not undo a later change made through the API.
CREATE SEQUENCE calendar_revision;
CREATE TABLE calendar_years (
    year         integer     PRIMARY KEY,
    holidays     date[]      NOT NULL,
    workdays     date[]      NOT NULL,
    source       text        NOT NULL,  -- api | file
    file_digest  text,
    revision     bigint      NOT NULL,
    updated_by   text        NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
"""

# Added after the first release (its own migration): a timer the sweep could not handle keeps
# how often it failed and why, until a later attempt succeeds.
PARKING_DDL = """
ALTER TABLE timers ADD COLUMN sweep_failures integer NOT NULL DEFAULT 0;
ALTER TABLE timers ADD COLUMN sweep_error text;
"""
PARKING_DROP = """
ALTER TABLE timers DROP COLUMN sweep_error; ALTER TABLE timers DROP COLUMN sweep_failures;
"""

# Added with hearings (its own migration): the re-review decision limit excludes hearing days.
HEARING_DDL = """
ALTER TABLE timers ADD COLUMN paused_days integer NOT NULL DEFAULT 0;
ALTER TABLE timers ADD COLUMN paused_since date;  -- a hearing is open since this local day
"""
HEARING_DROP = """
ALTER TABLE timers DROP COLUMN paused_since;
ALTER TABLE timers DROP COLUMN paused_days;
"""

DROP = """
DROP TABLE calendar_years; DROP SEQUENCE calendar_revision; DROP TABLE timer_history;
DROP TABLE timers; DROP TABLE case_facts; DROP TABLE cases;
"""

# Added with calendar versions (its own migration): every change of a year is kept, with who,
# when, the days before and after, and the event that announced it (`event_id` is NULL until it
# is in the outbox: a version recorded before versions were published is announced at start).
# A timer records the revision of the calendar its due date was counted on, and a calendar
# move is found by its cause (the history endpoint lists what each change moved).
CALENDAR_HISTORY_DDL = """
CREATE TABLE calendar_history (
    year          integer     NOT NULL,
    version       integer     NOT NULL,
    revision      bigint      NOT NULL,
    removed       boolean     NOT NULL,
    holidays      date[]      NOT NULL,
    workdays      date[]      NOT NULL,
    old_holidays  date[]      NOT NULL,
    old_workdays  date[]      NOT NULL,
    old_source    text,
    source        text        NOT NULL,
    actor_id      text        NOT NULL,
    actor_name    text        NOT NULL,
    at            timestamptz NOT NULL,
    moved         integer     NOT NULL DEFAULT 0,
    event_id      uuid        UNIQUE,
    PRIMARY KEY (year, version)
);
INSERT INTO calendar_history (year, version, revision, removed, holidays, workdays,
                              old_holidays, old_workdays, old_source, source, actor_id,
                              actor_name, at)
SELECT year, 1, revision, false, holidays, workdays, '{}', '{}', NULL, source, 'unknown',
       updated_by, updated_at
FROM calendar_years;
ALTER TABLE timers ADD COLUMN calendar_version bigint NOT NULL DEFAULT 0;
CREATE INDEX timer_history_calendar_cause ON timer_history (cause) WHERE reason = 'calendar';
"""
CALENDAR_HISTORY_DROP = """
DROP INDEX timer_history_calendar_cause; ALTER TABLE timers DROP COLUMN calendar_version;
DROP TABLE calendar_history;
"""
