"""``xf stats``: official figures as readable tables, the quarterly report, and rebuilding.

``summary``, ``breakdown`` and ``report`` ask the running service's API (``--url``, default the
local stack) with a staff or admin token (``--token`` or ``$XF_TOKEN``). ``rebuild`` works on
the statistics database and the broker directly (``$XF_DATABASE_URL``, ``$XF_KAFKA_BOOTSTRAP``;
on the local stack both default to it).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import typer

from services.statistics.assessment_queries import REPORT_BACK_STATUSES
from services.statistics.report import ASSESSMENT_HEADINGS, BREAKDOWN_HEADINGS, SUMMARY_HEADINGS
from shared.tools.cli.local import local_url
from shared.tools.cli.session import TOKEN

app = typer.Typer(help="Statistics: figures, quarterly reports, rebuilding the projection.",
                  no_args_is_help=True)

URL = typer.Option(local_url("statistics"), "--url", envvar="XF_STATS_URL",
                   help="the statistics service")
FROM = typer.Option(None, "--from", help="first day received, YYYY-MM-DD")
TO = typer.Option(None, "--to", help="last day received, YYYY-MM-DD")
AS_OF = typer.Option(None, "--as-of", help="figures as they stood then (time or date)")
CHANNEL = typer.Option(None, "--channel", help="code or Chinese name")
JURISDICTION = typer.Option(None, "--jurisdiction", help="code or Chinese name")
CATEGORY = typer.Option(None, "--category", help="code or Chinese name")
COMPARE = typer.Option(None, "--compare", help="yoy (同比) or previous (环比)")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "" if value is None else str(value)


def table(headings: list[str], rows: list[list[Any]]) -> str:
    """Columns aligned for terminals that draw CJK characters two cells wide."""
    width = len(headings)
    cells = [[_cell(v) for v in row] + [""] * (width - len(row)) for row in [headings, *rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(width)]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(text + " " * (widths[i] - _width(text)) if i == 0
                               else " " * (widths[i] - _width(text)) + text
                               for i, text in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _get(url: str, path: str, token: str, params: dict[str, Any]) -> bytes:
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    request = urllib.request.Request(f"{url.rstrip('/')}{path}?{query}",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        typer.secho(f"error {exc.code}: {exc.read().decode('utf-8', 'replace')}", fg="red",
                    err=True)
        raise typer.Exit(1) from exc
    except urllib.error.URLError as exc:
        typer.secho(f"cannot reach {url}: {exc.reason}", fg="red", err=True)
        raise typer.Exit(1) from exc


# by=assigning_body: the report-back status columns, in REPORT_BACK_STATUSES' order.
REPORT_BACK_LABELS = ("按期报告", "逾期报告", "待报告", "逾期未报", "未设时限")


def _filters(**values: Any) -> dict[str, Any]:
    return {("from" if k == "from_" else k): v for k, v in values.items()}


@app.command()
def summary(from_: str = FROM, to: str = TO, as_of: str = AS_OF, channel: str = CHANNEL,
            jurisdiction: str = JURISDICTION, category: str = CATEGORY, compare: str = COMPARE,
            url: str = URL, token: str = TOKEN) -> None:
    """Totals and rates (docs/domain.md §5) of the cases received in a period."""
    body = json.loads(_get(url, "/v1/stats/summary", token, _filters(
        from_=from_, to=to, as_of=as_of, channel=channel, jurisdiction=jurisdiction,
        category=category, compare=compare)))
    comparison = body.get("comparison")
    # The summary's figures, then the assessment indicators (参评满意率 is the satisfaction
    # rate, printed once).
    headings = {**SUMMARY_HEADINGS, **{k: v for k, v in ASSESSMENT_HEADINGS.items()
                                       if k not in SUMMARY_HEADINGS and k in body}}
    if comparison is None:
        typer.echo(table(["指标", "数值"], [[headings[k], body[k]] for k in headings]))
        return
    changes = comparison["changes"]
    typer.echo(f"基期 ({comparison['kind']}): {comparison['from']} 至 {comparison['to']}")
    typer.echo(table(["指标", "本期", "基期", "增减", "增减幅度(%)"], [
        [headings[k], body[k], changes[k]["baseline"], changes[k]["change"],
         changes[k]["change_percent"]] for k in headings]))


@app.command()
def breakdown(by: str = typer.Argument(
                  ..., help="jurisdiction|category|channel|unit|month|assigning_body"),
              from_: str = FROM, to: str = TO, as_of: str = AS_OF, channel: str = CHANNEL,
              jurisdiction: str = JURISDICTION, category: str = CATEGORY,
              url: str = URL, token: str = TOKEN) -> None:
    """Counts, shares and closure rates by one dimension, largest first."""
    body = json.loads(_get(url, "/v1/stats/breakdown", token, _filters(
        by=by, from_=from_, to=to, as_of=as_of, channel=channel, jurisdiction=jurisdiction,
        category=category)))
    rows = [[r["label"], r["count"], r["percent"], r["closed"], r["closure_rate"],
             *(r["report_back"][s] for s in REPORT_BACK_STATUSES if "report_back" in r)]
            for r in body["rows"]]
    extra = list(REPORT_BACK_LABELS) if by == "assigning_body" else []
    typer.echo(table([*BREAKDOWN_HEADINGS, *extra], [*rows, ["合计", body["total"]]]))


@app.command()
def report(year: int = typer.Option(..., "--year"), quarter: int = typer.Option(..., "--quarter"),
           as_of: str = AS_OF,
           output: Path = typer.Option(None, "--output", "-o",
                                       help="also save the report; .xlsx saves a workbook"),
           url: str = URL, token: str = TOKEN) -> None:
    """The quarterly report, printed section by section (and saved with --output)."""
    params = {"year": year, "quarter": quarter, "as_of": as_of}
    raw = _get(url, "/v1/reports/quarterly", token, {**params, "format": "csv"})
    if output is not None:
        fmt = "xlsx" if output.suffix.lower() == ".xlsx" else "csv"
        data = raw if fmt == "csv" else _get(url, "/v1/reports/quarterly", token,
                                             {**params, "format": "xlsx"})
        output.write_bytes(data)
    sections: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))):
        if not row:
            sections.append([])
        else:
            sections[-1].append(row)
    typer.echo("\n".join("  ".join(row) for row in sections[0]))  # title, period, as-of
    for section in sections[1:]:
        if len(section) >= 2 and len(section[1]) > 1:
            typer.echo(f"\n{section[0][0]}")
            typer.echo(table(section[1], section[2:]))
        else:
            typer.echo("\n".join(" ".join(row) for row in section))
    if output is not None:
        typer.echo(f"\nsaved {output}")


@app.command()
def rebuild(swap: bool = typer.Option(False, "--swap/--no-swap",
                                      help="make the rebuilt projection the live one"),
            keep: bool = typer.Option(False, "--keep",
                                      help="keep the rebuilt (or, with --swap, the old) tables"),
            database_url: str = typer.Option(None, envvar="XF_DATABASE_URL"),
            bootstrap: str = typer.Option(None, envvar="XF_KAFKA_BOOTSTRAP")) -> None:
    """Replay the event topics from the beginning into a fresh projection.

    Without --swap the rebuilt figures are compared with the live ones and the rebuilt tables
    dropped (unless --keep); with --swap they replace the live tables without stopping the
    service."""
    from services.statistics.config import StatisticsSettings
    from services.statistics.main import projector_for
    from services.statistics.rebuild import drop_schema
    from services.statistics.rebuild import rebuild as run_rebuild
    from shared.tools.cli.local import local_dsn

    settings = StatisticsSettings()
    dsn = database_url or local_dsn("statistics")
    result = asyncio.run(run_rebuild(dsn, bootstrap or settings.kafka_bootstrap,
                                     projector_for(settings), topic_prefix=settings.topic_prefix,
                                     swap=swap, keep_old=keep, say=typer.echo))
    if not swap:
        asyncio.run(_compare(dsn, result.schema))
        if not keep:
            asyncio.run(drop_schema(dsn, result.schema))
            typer.echo(f"dropped {result.schema} (use --swap to make it live, --keep to keep it)")


async def _compare(dsn: str, schema: str) -> None:
    import asyncpg

    from services.statistics.facts import N
    from services.statistics.figures import summary as shape
    from services.statistics.queries import Engine, StatsQuery, counts_of
    from shared.platform.clock import SystemClock

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"SET search_path TO {schema}")
        span = await conn.fetchrow("SELECT min(r_day), max(r_day) FROM case_fact WHERE counted")
        if span[0] is None:
            typer.echo("the topics hold no counted case")
            return
        q = StatsQuery(span[0], span[1], SystemClock().now())
        figures: dict[str, Any] = {}
        for name in (schema, "public"):
            await conn.execute(f"SET search_path TO {name}")
            result = await Engine(conn).run(q)
            total = [sum(c) for c in zip(*result.values(), strict=True)] or [0] * N
            figures[name] = shape(counts_of(total))
    finally:
        await conn.close()
    typer.echo(f"\nall cases received {span[0]} to {span[1]}, as of now:")
    typer.echo(table(["指标", "rebuilt", "live"], [
        [SUMMARY_HEADINGS[k], figures[schema][k], figures["public"][k]]  # type: ignore[literal-required]
        for k in SUMMARY_HEADINGS]))
    same = figures[schema] == figures["public"]
    typer.echo("same numbers" if same else
               "numbers differ: the live service may have applied events newer than the replay")
