"""``xf reconcile``: for each received day, intake's cases against what routing, deadlines and
statistics hold of them, each service asked over its own API (``GET /v1/reconcile``).

Every pair of :data:`PAIRS` must be equal once the pipeline has drained; the drift of a day is
the sum of the pairs' differences. The same pairs are Prometheus recording rules
(``xinfang_reconcile_drift{pair}`` in deploy/prometheus/alerts.yml) over the totals each
service exports, so the periodic check and this command compare the same things.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import typer

from shared.tools.cli.http import ApiError, call
from shared.tools.cli.local import local_url

Quantity = tuple[str, str]  # (service, quantity)


@dataclass(frozen=True)
class Pair:
    name: str
    source: Quantity  # intake's side: the system of record
    held: Quantity  # what a downstream service holds of it


PAIRS = (
    Pair("routing_petitions", ("intake", "cases"), ("routing", "petitions")),
    Pair("routing_assigned", ("intake", "assigned"), ("routing", "assigned")),
    Pair("routing_linked", ("intake", "linked"), ("routing", "linked")),
    Pair("deadlines_cases", ("intake", "cases"), ("deadlines", "cases")),
    Pair("deadlines_timers", ("intake", "cases"), ("deadlines", "timed")),
    Pair("deadlines_handling", ("intake", "accepted"), ("deadlines", "handling")),
    Pair("statistics_received", ("intake", "counted"), ("statistics", "received")),
    Pair("statistics_closed", ("intake", "closed"), ("statistics", "closed")),
)
SERVICES = ("intake", "routing", "deadlines", "statistics")
Answers = dict[str, dict[str, dict[str, int]]]  # service → day → quantity → n


@dataclass(frozen=True)
class Drift:
    day: str
    pair: str
    source: int
    held: int

    @property
    def amount(self) -> int:
        return abs(self.source - self.held)


def compare(answers: Answers) -> list[Drift]:
    """Every (day, pair) whose two sides differ, by day then pair."""
    days = sorted({d for by_day in answers.values() for d in by_day})
    out = []
    for day in days:
        for pair in PAIRS:
            a = answers.get(pair.source[0], {}).get(day, {}).get(pair.source[1], 0)
            b = answers.get(pair.held[0], {}).get(day, {}).get(pair.held[1], 0)
            if a != b:
                out.append(Drift(day, pair.name, a, b))
    return out


def fetch(urls: dict[str, str], token: str, first: date | None, last: date | None,
          timeout: float = 60.0) -> Answers:
    query = "&".join(f"{k}={v.isoformat()}" for k, v in (("from", first), ("to", last)) if v)
    answers: Answers = {}
    for service in SERVICES:
        _, body = call("GET", f"{urls[service]}/v1/reconcile?{query}", token=token,
                       timeout=timeout)
        answers[service] = body["days"]
    return answers


def render(drifts: list[Drift], answers: Answers) -> str:
    days = {d for by_day in answers.values() for d in by_day}
    cases = sum(n.get("cases", 0) for n in answers.get("intake", {}).values())
    lines = [f"{len(days)} received day(s), {cases} case(s) in intake"]
    if drifts:
        lines.append(f"{'day':<12}{'pair':<22}{'intake':>10}{'held':>10}{'drift':>8}")
        lines += [f"{d.day:<12}{d.pair:<22}{d.source:>10}{d.held:>10}{d.amount:>8}"
                  for d in drifts]
    lines.append(f"drift: {sum(d.amount for d in drifts)}")
    return "\n".join(lines)


def _url_option(service: str) -> Any:
    return typer.Option(local_url(service), f"--{service}-url",
                        envvar=f"XF_{service.upper()}_URL", help=f"the {service} service")


def reconcile(
    first: str = typer.Option(None, "--from", help="first received day, YYYY-MM-DD"),
    last: str = typer.Option(None, "--to", help="last received day, YYYY-MM-DD"),
    token: str = typer.Option(..., "--token", envvar="XF_TOKEN",
                              help="a staff or admin bearer token"),
    as_json: bool = typer.Option(False, "--json", help="print the drifts as JSON"),
    intake_url: str = _url_option("intake"),
    routing_url: str = _url_option("routing"),
    deadlines_url: str = _url_option("deadlines"),
    statistics_url: str = _url_option("statistics"),
) -> None:
    """Compare the services' counts per received day; exit 1 on drift, 2 if one cannot
    answer."""
    try:
        bounds = [date.fromisoformat(v) if v else None for v in (first, last)]
    except ValueError as exc:
        raise typer.BadParameter(f"dates are YYYY-MM-DD: {exc}") from None
    urls = {"intake": intake_url, "routing": routing_url, "deadlines": deadlines_url,
            "statistics": statistics_url}
    try:
        answers = fetch(urls, token, bounds[0], bounds[1])
    except (ApiError, OSError) as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    drifts = compare(answers)
    if as_json:
        typer.echo(json.dumps({"drift": sum(d.amount for d in drifts),
                               "drifts": [d.__dict__ for d in drifts]}))
    else:
        typer.echo(render(drifts, answers))
    raise typer.Exit(1 if drifts else 0)

