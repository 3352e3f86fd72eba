"""Who may list the open duties (overdue, due soon) and with which filters, and the counts per
unit or jurisdiction the operations dashboard shows (超期与临期).

- `GET /v1/overdue/summary?by=unit|jurisdiction[&unit=&jurisdiction=&kind=]` (staff, admin,
  leader; a unit sees only its own): per group, the cases with an overdue duty and the cases
  with a warned one that is not overdue — by case, not by timer: a case with two late duties
  counts once, and a case overdue on one duty and due soon on another counts as overdue only.
  `{by, overdue, due_soon, rows: [{key, label, overdue, due_soon}]}`, most overdue first. It is
  one query, so the dashboard (refreshed every 10 s) no longer reads every timer to count them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web

from shared.domain.limits import DeadlineKind
from shared.domain.vocab import Vocabulary
from shared.platform.boundary import ParamInvalid, int_param
from shared.platform.web import error, field_errors, json_response, principal

MAX_LIMIT = 10_000
# The groups of the summary and the column each is read from (never interpolated from input).
GROUPS = {"unit": "c.unit", "jurisdiction": "c.jurisdiction"}


@dataclass(frozen=True)
class Scope:
    """The filters of a list or a summary, already narrowed to what the caller may see."""
    unit: str | None
    jurisdiction: str | None
    kind: str | None
    limit: int


def scope(request: web.Request, vocab: Vocabulary, *, limited: bool = True
          ) -> tuple[Scope, list[dict[str, str]]]:
    """The request's filters and the field errors of the bad ones (each named); 403 for a
    caller who may not list open duties, or a unit asking for another unit's."""
    who = principal(request)
    # Bureau leaders watch the operations dashboard: the lists, not a case's timers.
    if not (who.is_staff or who.role in ("unit", "leader")):
        raise error(403, "this needs a staff, admin, leader or unit token")
    q = request.query
    problems: list[dict[str, str]] = []
    unit = q.get("unit") or None
    if who.role == "unit":
        if unit not in (None, who.unit):
            raise error(403, "a unit token may list only its own overdue cases")
        unit = who.unit
    jurisdiction = q.get("jurisdiction") or None
    if jurisdiction is not None:
        jurisdiction = vocab.jurisdictions.resolve(jurisdiction)
        if jurisdiction is None:
            problems.append({"field": "jurisdiction", "message":
                             "unknown jurisdiction; use a code or its Chinese name"})
    kind = q.get("kind") or None
    if kind is not None and kind not in {k.value for k in DeadlineKind}:
        problems.append({"field": "kind", "message": "one of " + ", ".join(DeadlineKind)})
    limit = 1000
    if limited and "limit" in q:
        try:
            limit = int_param(q["limit"], "limit", minimum=1, maximum=MAX_LIMIT)
        except ParamInvalid as exc:
            problems.append({"field": exc.field, "message": exc.message})
    return Scope(unit, jurisdiction, kind, limit), problems


def jurisdiction_json(vocab: Vocabulary, code: str | None) -> dict[str, str] | None:
    if code is None:
        return None
    if vocab.jurisdictions.resolve(code) is None:
        return {"key": code, "label": code}
    return vocab.jurisdictions.render(code)


class OverdueSummary:
    def __init__(self, pool: asyncpg.Pool, vocab: Vocabulary) -> None:
        self._pool = pool
        self._vocab = vocab

    def install(self, app: web.Application) -> None:
        app.router.add_get("/v1/overdue/summary", self.get_summary)

    async def get_summary(self, request: web.Request) -> web.Response:
        by = request.query.get("by", "")
        filters, problems = scope(request, self._vocab, limited=False)
        if by not in GROUPS:
            problems.insert(0, {"field": "by", "message": "required: one of unit, jurisdiction"
                                if not by else "must be one of unit, jurisdiction"})
        if problems:
            return field_errors(problems)
        column = GROUPS[by]
        # Per case first (its group and whether any duty is late), then per group: the
        # dashboard counts cases, and a late case is not also counted as due soon.
        rows = await self._pool.fetch(
            f"""
            SELECT grp, count(*) FILTER (WHERE late) AS overdue,
                   count(*) FILTER (WHERE NOT late) AS due_soon
            FROM (SELECT t.case_id, {column} AS grp, bool_or(t.status = 'overdue') AS late
                  FROM timers t LEFT JOIN cases c ON c.case_id = t.case_id
                  WHERE t.status IN ('overdue', 'warned')
                    AND ($1::text IS NULL OR c.unit = $1)
                    AND ($2::text IS NULL OR c.jurisdiction = $2)
                    AND ($3::text IS NULL OR t.kind = $3)
                  GROUP BY t.case_id, grp) AS per_case
            GROUP BY grp
            """, filters.unit, filters.jurisdiction, filters.kind)
        groups = [self._row(by, r) for r in rows]
        # Sorted here, not by SQL: the database's collation would order the codes otherwise.
        groups.sort(key=lambda g: (-g["overdue"], -g["due_soon"], g["key"] is None,
                                   g["key"] or ""))
        return json_response({"by": by, "overdue": sum(g["overdue"] for g in groups),
                              "due_soon": sum(g["due_soon"] for g in groups), "rows": groups})

    def _row(self, by: str, r: asyncpg.Record) -> dict[str, Any]:
        key = r["grp"]
        # Deadlines knows no unit names (they are routing's): a unit's label is null.
        shown = jurisdiction_json(self._vocab, key) if by == "jurisdiction" else None
        return {"key": key, "label": shown["label"] if shown else None,
                "overdue": int(r["overdue"]), "due_soon": int(r["due_soon"])}

