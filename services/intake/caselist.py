"""The case list (docs/domain.md §7): ``GET /v1/cases`` with filters, due-first sorting and
keyset pagination, for the console's work queue and search.

Who sees what: staff and admin every case, a unit (a handler, a unit head, a unit token) the
cases assigned to it, a clerk the cases they registered, a leader the key cases they are
responsible for (permissions.responsible_leader); anyone else gets 403. ``key=true|false``
keeps key cases or the others. Items carry no
personal data — the list is read far more often than a case, and identity reads are for one
case with a purpose.

``sort=due`` orders by the day the running limit of the case's phase ends, computed from the
case row (acceptance: 15 days from receipt; handling: 60 days, plus an extension, from
acceptance). It is the queue's order; the exact dates, with the working-day calendar and
their warned/overdue state, are the deadlines service's.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from aiohttp import web

from shared.domain.statuses import CaseStatus
from shared.domain.vocab import Vocabulary
from shared.platform.auth import Principal
from shared.platform.clock import iso
from shared.platform.web import error, field_errors, json_response, principal

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_Q = 100
UNIT_PATTERN = re.compile(r"^[a-z0-9_]{1,64}$")
# Statuses a unit or the petition office still has to act on.
OPEN = (CaseStatus.REGISTERED, CaseStatus.ASSIGNED, CaseStatus.ACCEPTED, CaseStatus.EXTENDED,
        CaseStatus.REPLIED, CaseStatus.REVIEW_REQUESTED, CaseStatus.REREVIEW_REQUESTED)
# The end of the running limit of each open phase (docs/domain.md §4); closed cases sort last.
DUE_KEY = """(CASE
    WHEN c.status IN ('registered', 'assigned') THEN c.received_at + interval '15 days'
    WHEN c.status = 'accepted' THEN c.last_action_at + interval '60 days'
    WHEN c.status = 'extended'
        THEN c.last_action_at + make_interval(days => coalesce(c.extended_days, 30))
    WHEN c.status IN ('replied', 'review_requested', 'rereview_requested')
        THEN c.last_action_at + interval '30 days'
    ELSE c.received_at + interval '100 years' END)"""
SORTS = {"due": (DUE_KEY, "ASC", ">"), "received": ("c.received_at", "DESC", "<")}


class ListInvalid(ValueError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("invalid case list query")
        self.errors = errors


def _bad(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def parse_query(query: Any, vocab: Vocabulary) -> dict[str, Any]:
    """The filters of a list request, validated; every problem names its parameter."""
    errors: list[dict[str, str]] = []
    out: dict[str, Any] = {}
    status = query.get("status", "")
    if status == "open":
        out["statuses"] = [s.value for s in OPEN]
    elif status:
        names = status.split(",")
        unknown = [n for n in names if n not in CaseStatus.__members__.values()]
        if unknown:
            errors.append(_bad("status", f"unknown status {unknown[0]!r}: use 'open' or "
                               f"one or more of {', '.join(s.value for s in CaseStatus)}"))
        out["statuses"] = names
    unit = query.get("unit", "")
    if unit and not UNIT_PATTERN.match(unit):
        errors.append(_bad("unit", "a unit code: lower-case letters, digits and '_'"))
    out["unit"] = unit or None
    for name, terms in (("channel", vocab.channels), ("category", vocab.categories),
                        ("jurisdiction", vocab.jurisdictions)):
        value = query.get(name, "")
        code = terms.resolve(value) if value else None
        if value and code is None:
            errors.append(_bad(name, f"unknown {name} {value!r}"))
        out[name] = code
    key = query.get("key", "")
    if key not in ("", "true", "false"):
        errors.append(_bad("key", "true or false"))
    out["key"] = None if key == "" else key == "true"
    q = query.get("q", "").strip()
    if len(q) > MAX_Q:
        errors.append(_bad("q", f"at most {MAX_Q} characters"))
    out["q"] = q or None
    sort = query.get("sort", "due")
    if sort not in SORTS:
        errors.append(_bad("sort", "one of: due, received"))
    out["sort"] = sort
    raw_limit = query.get("limit", str(DEFAULT_LIMIT))
    try:
        limit = int(raw_limit)
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
        out["limit"] = limit
    except ValueError:
        errors.append(_bad("limit", f"a whole number from 1 to {MAX_LIMIT}"))
    cursor = query.get("cursor", "")
    out["after"] = None
    if cursor:
        try:
            key, case_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
            out["after"] = (datetime.fromisoformat(key), str(case_id))
        except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
            errors.append(_bad("cursor", "not a cursor this list gave out (next_cursor)"))
    if errors:
        raise ListInvalid(errors)
    return out


def encode_cursor(key: datetime, case_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([key.isoformat(), case_id])).decode()


def scope(who: Principal) -> tuple[str, list[Any]]:
    """The rows ``who`` may list, as a WHERE fragment and its arguments ($1…)."""
    if who.is_staff:
        return "TRUE", []
    if who.role == "unit" and who.unit:
        return "c.assigned_unit = $1", [who.unit]
    if who.role == "clerk":
        return ("EXISTS (SELECT 1 FROM case_timeline t WHERE t.case_id = c.case_id "
                "AND t.seq = 1 AND t.actor_id = $1)", [who.actor_id])
    if who.role == "leader" and who.is_person and who.name:
        return "c.key_case AND c.leader = $1", [who.name]
    raise error(403, "only staff, admin, a unit, a clerk or a leader may list cases")


def build(who: Principal, f: dict[str, Any]) -> tuple[str, str, list[Any]]:
    """(count query, page query, arguments): the page query takes one more row than asked,
    to know whether there is a next page."""
    where, args = scope(who)
    clauses = [where]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if f.get("statuses"):
        clauses.append(f"c.status = ANY({arg(f['statuses'])}::text[])")
    for column in ("unit", "channel", "category", "jurisdiction"):
        if f.get(column):
            name = "assigned_unit" if column == "unit" else column
            clauses.append(f"c.{name} = {arg(f[column])}")
    if f.get("key") is not None:
        clauses.append(f"c.key_case = {arg(f['key'])}")
    if f.get("q"):
        escaped = f["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(f"c.title ILIKE {arg('%' + escaped + '%')}")
    key, direction, op = SORTS[f["sort"]]
    filtered = " AND ".join(clauses)
    count = f"SELECT count(*) FROM cases c WHERE {filtered}"
    page_clauses = list(clauses)
    if f.get("after"):
        after_key, after_id = f["after"]
        page_clauses.append(f"({key}, c.case_id) {op} ({arg(after_key)}::timestamptz, "
                            f"{arg(after_id)}::uuid)")
    page = (f"SELECT c.*, {key} AS sort_key FROM cases c WHERE {' AND '.join(page_clauses)} "
            f"ORDER BY {key} {direction}, c.case_id {direction} LIMIT {arg(f['limit'] + 1)}")
    return count, page, args


class CaseListApi:
    def __init__(self, pool: asyncpg.Pool, vocab: Vocabulary) -> None:
        self._pool = pool
        self._vocab = vocab

    def install(self, app: web.Application) -> None:
        app.router.add_get("/v1/cases", self.list)

    async def list(self, request: web.Request) -> web.Response:
        who = principal(request)
        try:
            f = parse_query(request.query, self._vocab)
        except ListInvalid as exc:
            return field_errors(exc.errors)
        count_sql, page_sql, args = build(who, f)
        count_args = args[:_placeholders(count_sql)]  # the count takes no cursor nor limit
        async with self._pool.acquire() as conn:
            total = await conn.fetchval(count_sql, *count_args)
            rows = await conn.fetch(page_sql, *args)
        more = len(rows) > f["limit"]
        rows = rows[:f["limit"]]
        next_cursor = None
        if more and rows:
            last = rows[-1]
            key = last["sort_key"]
            if isinstance(key, datetime):
                next_cursor = encode_cursor(key, str(last["case_id"]))
        return json_response({"items": [self.render(r) for r in rows],
                              "next_cursor": next_cursor},
                             headers={"X-Total-Count": str(total)})

    def render(self, row: asyncpg.Record) -> dict[str, Any]:
        v = self._vocab
        key = row["sort_key"]
        return {
            "case_id": str(row["case_id"]), "tracking_no": row["tracking_no"],
            "status": row["status"], "title": row["title"],
            "channel": v.channels.render(row["channel"]),
            "category": v.categories.render(row["category"]),
            "jurisdiction": v.jurisdictions.render(row["jurisdiction"]),
            "received_at": iso(row["received_at"]), "assigned_unit": row["assigned_unit"],
            "signers": row["signers"], "last_action_at": iso(row["last_action_at"]),
            "key_case": row["key_case"], "leader": row["leader"], "urges": row["urges"],
            "due_at": iso(key) if isinstance(key, datetime) else None,
        }


def _placeholders(sql: str) -> int:
    """How many of the shared arguments a statement uses."""
    return max((int(n) for n in re.findall(r"\$(\d+)", sql)), default=0)
