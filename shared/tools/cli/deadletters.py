"""``xf deadletters``: what a service's consumer parked, and replaying it after a fix."""

from __future__ import annotations

import json
from typing import Any

import typer

from shared.tools.cli.http import ApiError, call
from shared.tools.cli.local import local_url

app = typer.Typer(help="Parked messages (dead letters) of a service: list, show, replay.",
                  no_args_is_help=True)
CONSUMERS = ("intake", "routing", "deadlines", "statistics")
TOKEN = typer.Option(..., "--token", envvar="XF_TOKEN", help="an admin bearer token")
URL = typer.Option(None, "--url", help="the service's base URL (default: the local stack)")


def _base(service: str, url: str | None) -> str:
    if service not in CONSUMERS:
        raise typer.BadParameter(f"one of {', '.join(CONSUMERS)}", param_hint="SERVICE")
    return (url or local_url(service)).rstrip("/")


def _request(method: str, url: str, token: str, body: Any = None) -> Any:
    try:
        return call(method, url, token=token, body=body)[1]
    except ApiError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc


@app.command("list")
def list_cmd(service: str = typer.Argument(..., help=f"one of {', '.join(CONSUMERS)}"),
             since: str = typer.Option(None, help="parked at or after (RFC 3339)"),
             until: str = typer.Option(None, help="parked before (RFC 3339)"),
             all_: bool = typer.Option(False, "--all", help="include replayed ones"),
             token: str = TOKEN, url: str = URL) -> None:
    """One line per parked message, oldest first."""
    query = "&".join(f"{k}={v}" for k, v in (("since", since), ("until", until),
                                              ("all", "1" if all_ else None)) if v)
    found = _request("GET", f"{_base(service, url)}/v1/deadletters?{query}", token)
    for row in found["items"]:
        state = f"replayed {row['replayed_at']}" if row["replayed_at"] else "waiting"
        typer.echo(f"{row['id']:>6}  {row['parked_at']}  {row['reason']:<11} "
                   f"{row['topic']}:{row['partition']}@{row['offset']}  "
                   f"{row['event_type'] or '-'}  {state}  {row['error'][:80]}")
    typer.echo(f"{len(found['items'])} parked")


@app.command()
def show(service: str = typer.Argument(...), parked_id: int = typer.Argument(...),
         token: str = TOKEN, url: str = URL) -> None:
    """One parked message whole: origin, error, the original bytes."""
    found = _request("GET", f"{_base(service, url)}/v1/deadletters/{parked_id}", token)
    typer.echo(json.dumps(found, ensure_ascii=False, indent=2))


@app.command()
def replay(service: str = typer.Argument(...),
           ids: list[int] = typer.Option(None, "--id", help="a parked id (repeatable)"),
           since: str = typer.Option(None, help="parked at or after (RFC 3339)"),
           until: str = typer.Option(None, help="parked before (RFC 3339)"),
           token: str = TOKEN, url: str = URL) -> None:
    """Apply parked messages again through the service (idempotent: an event applied
    before is not applied twice)."""
    if not ids and not since and not until:
        raise typer.BadParameter("name --id, or a time range with --since/--until")
    body = {"ids": ids or None, "since": since, "until": until}
    counts = _request("POST", f"{_base(service, url)}/v1/deadletters/replay", token, body)
    typer.echo(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()))
    if counts.get("failed"):
        raise typer.Exit(1)
