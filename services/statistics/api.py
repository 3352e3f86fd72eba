"""The statistics HTTP API (docs/domain.md §6).

Who may read: staff and admin, and bureau leaders (包案领导, who watch the operations dashboard).
Figures carry no personal data, but they are the bureau's official, unpublished statistics;
channels, units and clerks have no business reading them. A missing or unknown token is 401,
any other role 403 (``require_reader``).

- ``GET /v1/stats/summary?from&to[&as_of][&channel&jurisdiction&category][&compare=yoy|previous]``
- ``GET /v1/stats/breakdown?by=jurisdiction|category|channel|unit|month&from&to[...]``
- ``GET /v1/reports/quarterly?year&quarter[&format=csv|xlsx][&as_of]``

``from`` defaults to 1 January of ``to``'s year, ``to`` to the day of ``as_of``, ``as_of`` to now.
With ``compare`` the body keeps the contract's keys and adds ``comparison``: the baseline period,
its
figures and the change of each (figures.compare). Bad parameters → 422 naming each one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from services.statistics import report
from services.statistics.figures import compare
from services.statistics.params import ParamErrors, baseline, parse_report, parse_stats
from services.statistics.queries import StatsQuery
from services.statistics.reader import Reader
from shared.domain.vocab import Vocabulary
from shared.platform.auth import Principal
from shared.platform.clock import Clock, iso
from shared.platform.web import error, field_errors, json_response, principal

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def require_reader(request: web.Request) -> Principal:
    who = principal(request)
    if not (who.is_staff or who.role == "leader"):
        raise error(403, "statistics need a staff, admin or leader credential")
    return who


def _params(request: web.Request) -> Mapping[str, Sequence[str]]:
    return {name: request.query.getall(name) for name in request.query}


def _period(q: StatsQuery) -> dict[str, str]:
    return {"from": q.start.isoformat(), "to": q.end.isoformat(), "as_of": iso(q.as_of)}


class StatsApi:
    def __init__(self, reader: Reader, clock: Clock, vocab: Vocabulary) -> None:
        self._reader = reader
        self._clock = clock
        self._vocab = vocab

    def install(self, app: web.Application) -> None:
        app.router.add_get("/v1/stats/summary", self.summary)
        app.router.add_get("/v1/stats/breakdown", self.breakdown)
        app.router.add_get("/v1/reports/quarterly", self.quarterly)

    async def summary(self, request: web.Request) -> web.Response:
        require_reader(request)
        try:
            req = parse_stats(_params(request), now=self._clock.now(), vocab=self._vocab)
            base = baseline(req.query, req.compare) if req.compare else None
        except ParamErrors as exc:
            return field_errors(exc.errors)
        current = await self._reader.summary(req.query)
        body: dict[str, Any] = dict(current)
        if base is not None:
            then = await self._reader.summary(base)
            body["comparison"] = {"kind": req.compare, **_period(base), "baseline": then,
                                  "changes": compare(current, then)}
        return json_response(body)

    async def breakdown(self, request: web.Request) -> web.Response:
        require_reader(request)
        try:
            req = parse_stats(_params(request), now=self._clock.now(), vocab=self._vocab,
                              breakdown=True)
            base = baseline(req.query, req.compare) if req.compare else None
        except ParamErrors as exc:
            return field_errors(exc.errors)
        body: dict[str, Any] = dict(await self._reader.breakdown(req.query))
        if base is not None:
            body["comparison"] = {"kind": req.compare, **_period(base),
                                  "baseline": await self._reader.breakdown(base)}
        return json_response(body)

    async def quarterly(self, request: web.Request) -> web.Response:
        require_reader(request)
        try:
            req = parse_report(_params(request), now=self._clock.now())
        except ParamErrors as exc:
            return field_errors(exc.errors)
        built = await self._reader.quarterly(req)
        name = f"xinfang-{req.year}-Q{req.quarter}.{req.format}"
        if req.format == "xlsx":
            body, content_type = report.to_xlsx(built), XLSX
        else:
            body, content_type = report.to_csv(built), "text/csv; charset=utf-8"
        return web.Response(body=body, headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{name}"',
        })
