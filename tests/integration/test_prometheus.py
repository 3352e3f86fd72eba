"""The local stack's real Prometheus: it scrapes all four services, loads the alert rules, and
the dashboard's queries give the figures the statistics API gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from services.statistics.figures import quarter_bounds
from shared.domain.limits import local_date
from shared.tools.stack.layout import SERVICES
from shared.tools.testing.helpers import eventually
from shared.tools.testing.tokens import STAFF, bearer

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "xinfang.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"


async def _query(http: aiohttp.ClientSession, stack: Any, expr: str) -> list[dict[str, Any]]:
    async with http.get(f"http://{stack.layout.prometheus_addr}/api/v1/query",
                        params={"query": expr}) as r:
        body = await r.json()
        assert r.status == 200 and body["status"] == "success", (expr, body)
        return list(body["data"]["result"])


async def test_every_service_is_scraped_and_the_alert_rules_are_loaded(stack) -> None:
    async with aiohttp.ClientSession() as http:
        async def all_up() -> bool:
            up = await _query(http, stack, 'up{job="xinfang"}')
            return {(s["metric"]["service"], s["value"][1]) for s in up} == {
                (service, "1") for service in SERVICES}

        await eventually(all_up, within=60, every=0.5, what="Prometheus to scrape every service")
        async with http.get(f"http://{stack.layout.prometheus_addr}/api/v1/rules") as r:
            groups = (await r.json())["data"]["groups"]
    loaded = {rule["name"]: rule["health"] for g in groups for rule in g["rules"]}
    # Alerts and recording rules alike (Prometheus names a recording rule by what it records).
    wanted = {rule.get("alert") or rule["record"]
              for g in yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
              for rule in g["rules"]}
    assert wanted and {name: loaded.get(name) for name in wanted} == dict.fromkeys(wanted, "ok")


async def test_dashboard_queries_run_and_show_the_api_figures(stack) -> None:
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    queries = {p["title"]: t["expr"] for p in panels for t in p.get("targets", [])}
    async with aiohttp.ClientSession() as http:
        for expr in queries.values():
            await _query(http, stack, expr)  # each one is valid and evaluates on real data

        today = local_date(datetime.now(UTC))
        periods = {"year": (today.replace(month=1, day=1), today.replace(month=12, day=31)),
                   "quarter": quarter_bounds(today.year, (today.month - 1) // 3 + 1)}

        async def api(period: str) -> dict[str, Any]:
            start, end = periods[period]
            async with http.get(stack.url("statistics", "/v1/stats/summary"), headers=bearer(
                    STAFF), params={"from": start.isoformat(), "to": end.isoformat()}) as r:
                assert r.status == 200
                return dict(await r.json())

        async def same_figures() -> tuple[Any, ...] | None:
            # The panels' values against the API's, read around them: equal once the leader
            # has refreshed its gauges and Prometheus has scraped them (both every few seconds).
            shown = {}
            for panel, figure in (("Closure rate", "closure_rate"),
                                  ("On-time rate", "on_time_rate")):
                for series in await _query(http, stack, queries[panel]):
                    shown[(figure, series["metric"]["period"])] = float(series["value"][1])
            truth = {(figure, period): (await api(period))[figure]
                     for figure in ("closure_rate", "on_time_rate") for period in periods}
            return (shown, truth) if shown == truth else None

        await eventually(same_figures, within=60, every=1.0,
                         what="the dashboard's rates to equal the statistics API's")
        # Open cases by jurisdiction: one series per jurisdiction, no case-level labels.
        open_cases = await _query(http, stack, queries["Open cases by jurisdiction"])
        assert open_cases and all(set(s["metric"]) == {"jurisdiction"} for s in open_cases)
