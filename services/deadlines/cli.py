"""``xf deadlines``: a case's deadlines, the overdue list, and the calendar overlay.

    xf deadlines show CASE_ID
    xf deadlines overdue [--unit U] [--jurisdiction J]
    xf deadlines calendar show YEAR
    xf deadlines calendar load FILE        (admin: PUT every year of an overlay YAML file)
    xf deadlines calendar remove YEAR      (admin)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import typer
from rich.console import Console
from rich.table import Table

from shared.domain.calendar import OverlayError, load_overlay
from shared.tools.cli.http import ApiError, call
from shared.tools.cli.local import local_url
from shared.tools.cli.session import TOKEN

app = typer.Typer(help="Deadlines of cases, overdue timers and the working-day calendar.",
                  no_args_is_help=True)
calendar = typer.Typer(help="The operators' calendar overlay (years the library lacks).",
                       no_args_is_help=True)
app.add_typer(calendar, name="calendar")
console = Console()
URL = typer.Option(local_url("deadlines"), envvar="XF_DEADLINES_URL",
                   help="the deadlines service's base URL")


def _request(method: str, url: str, token: str, body: Any = None) -> Any:
    try:
        return call(method, url, token=token, body=body)[1]
    except ApiError as exc:
        console.print(f"[red]refused ({exc.status})[/red]")
        console.print_json(json.dumps(exc.body, ensure_ascii=False, default=str))
        raise typer.Exit(1) from None


_STYLE = {"overdue": "red", "warned": "yellow", "pending": "cyan", "met": "green",
          "cancelled": "dim"}


@app.command()
def show(case_id: str, url: str = URL, token: str = TOKEN) -> None:
    """Every deadline of a case: due date, status, rule, article, history."""
    timers = _request("GET", f"{url}/v1/deadlines/{case_id}", token)
    table = Table("kind", "due", "status", "outcome", "article", "rule", "history")
    for t in timers:
        status = t["status"]
        due = t["due_date"] + (" (provisional)" if t["provisional"] else "")
        moves = "; ".join(f"{h['old_due_date']} → {h['new_due_date']} ({h['reason']})"
                          for h in t["history"])
        name = t["kind"] + (f" #{t['round']}" if t["round"] else "")
        table.add_row(name, due, f"[{_STYLE.get(status, '')}]{status}[/]", t["outcome"] or "",
                      t["article"], t["rule"], moves)
    console.print(table)


@app.command()
def overdue(unit: str = typer.Option(None), jurisdiction: str = typer.Option(None),
            kind: str = typer.Option(None), limit: int = typer.Option(100),
            url: str = URL, token: str = TOKEN) -> None:
    """Open overdue deadlines, longest overdue first."""
    query = {k: v for k, v in (("unit", unit), ("jurisdiction", jurisdiction), ("kind", kind),
                               ("limit", str(limit))) if v}
    items = _request("GET", f"{url}/v1/overdue?{urlencode(query)}", token)
    table = Table("case", "kind", "due", "days over", "unit", "jurisdiction", "article")
    for i in items:
        j = i["jurisdiction"]
        table.add_row(i["case_id"], i["kind"], i["due_date"], str(i["days_overdue"]),
                      i["unit"] or "", j["label"] if j else "", i["article"])
    console.print(table)


@calendar.command("show")
def calendar_show(year: int, url: str = URL, token: str = TOKEN) -> None:
    """A year's holidays and make-up working days, and where they come from."""
    data = _request("GET", f"{url}/v1/calendar/{year}", token)
    source = data["source"] or "none (weekends only, due dates provisional)"
    console.print(f"[bold]{year}[/bold]: source {source}")
    console.print(f"holidays: {', '.join(data['holidays']) or '-'}")
    console.print(f"workdays (调休): {', '.join(data['workdays']) or '-'}")


@calendar.command("load")
def calendar_load(file: Path = typer.Argument(..., exists=True, dir_okay=False),
                  url: str = URL, token: str = TOKEN) -> None:
    """Send every year of an overlay file (YAML: years: {2027: {holidays, workdays}})."""
    try:
        overlay = load_overlay(file)
    except OverlayError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    for year, days in sorted(overlay.items()):
        body = {"holidays": sorted(d.isoformat() for d in days.holidays),
                "workdays": sorted(d.isoformat() for d in days.workdays)}
        result = _request("PUT", f"{url}/v1/calendar/{year}", token, body)
        verb = "changed" if result["changed"] else "unchanged"
        console.print(f"{year}: {verb}; {result['rescheduled']} open deadline(s) rescheduled")


@calendar.command("remove")
def calendar_remove(year: int, url: str = URL, token: str = TOKEN) -> None:
    """Drop a year's overlay (back to the library's data, or weekends only)."""
    result = _request("DELETE", f"{url}/v1/calendar/{year}", token)
    console.print(f"{year}: overlay removed; {result['rescheduled']} deadline(s) rescheduled")
