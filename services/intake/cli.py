"""``xf case``: clerks register letters and visits by hand, look a case up and act on it."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from shared.tools.cli.http import ApiError, call
from shared.tools.cli.local import local_url
from shared.tools.cli.session import TOKEN

app = typer.Typer(help="Register, show and act on cases through the intake API.",
                  no_args_is_help=True)
console = Console()
URL = typer.Option(local_url("intake"), envvar="XF_INTAKE_URL", help="intake's base URL")


def _fail(exc: ApiError) -> typer.Exit:
    console.print(f"[red]refused ({exc.status})[/red]")
    console.print_json(json.dumps(exc.body, ensure_ascii=False, default=str))
    return typer.Exit(1)


@app.command()
def show(case_id: str, url: str = URL, token: str = TOKEN,
         purpose: str = typer.Option(None, help="why you need the petitioner's identity "
                                     "(audited); without it the identity is withheld")) -> None:
    """A case and its timeline."""
    query = f"?{urllib.parse.urlencode({'purpose': purpose})}" if purpose else ""
    try:
        _, record = call("GET", f"{url}/v1/cases/{case_id}{query}", token=token)
    except ApiError as exc:
        raise _fail(exc) from None
    console.print(f"[bold]{record['tracking_no']}[/bold]  {record['title']}  "
                  f"status: [cyan]{record['status']}[/cyan]  unit: {record['assigned_unit']}")
    console.print(f"{record['channel']['label']} · {record['jurisdiction']['label']} · "
                  f"{record['category']['label']} · received {record['received_at']}")
    table = Table("#", "action", "status", "at", "by", "note")
    for step in record["timeline"]:
        by = step.get("actor_name") or step["actor"]
        table.add_row(str(step["seq"]), step["action"], step["status"], step["at"],
                      f"{by} ({step['actor']})" if by != step["actor"] else by,
                      step.get("note") or step.get("internal_note") or "")
    console.print(table)


@app.command()
def act(case_id: str, action: str,
        reason: str = typer.Option(None, help="required to decline, extend, object, transfer"),
        days: int = typer.Option(None, help="extend: 1–30"),
        rating: str = typer.Option(None, help="satisfied | basically_satisfied | unsatisfied"),
        transfer_to: str = typer.Option(None, help="transfer_out: the body it goes to"),
        at: str = typer.Option(None, help="when it happened on paper (RFC 3339); default now"),
        url: str = URL, token: str = TOKEN) -> None:
    """Take one lifecycle action (accept, decline, extend, reply, close, feedback, ...)."""
    body: dict[str, Any] = {"action": action}
    for key, value in (("reason", reason), ("days", days), ("rating", rating),
                       ("transfer_to", transfer_to), ("at", at)):
        if value is not None:
            body[key] = value
    try:
        _, result = call("POST", f"{url}/v1/cases/{case_id}/actions", token=token, body=body)
    except ApiError as exc:
        raise _fail(exc) from None
    console.print(f"{result['previous_status']} → [green]{result['status']}[/green]; next: "
                  + (", ".join(result["allowed_actions"]) or "nothing (final)"))


@app.command()
def submit(channel: str = typer.Option(..., help="code or Chinese name, e.g. letter / 来信"),
           jurisdiction: str = typer.Option(...), category: str = typer.Option(...),
           title: str = typer.Option(...), content: str = typer.Option(...),
           name: str = typer.Option(None, help="petitioner's name (omit if anonymous)"),
           phone: str = typer.Option(None), id_number: str = typer.Option(None),
           address: str = typer.Option(None), signers: int = typer.Option(1),
           external_id: str = typer.Option(None, help="the letter's own number, if any"),
           received_at: str = typer.Option(None, help="RFC 3339; default now"),
           url: str = URL, token: str = TOKEN) -> None:
    """Register a letter or a visit entered by a clerk."""
    petitioner: dict[str, Any] = {k: v for k, v in (("name", name), ("phone", phone),
                                                    ("id_number", id_number),
                                    ("address", address)) if v}
    if not name:
        petitioner["anonymous"] = True
    body: dict[str, Any] = {"channel": channel, "jurisdiction": jurisdiction,
                            "category": category, "title": title, "content": content,
                            "petitioner": petitioner, "signers": signers}
    if external_id:
        body["external_id"] = external_id
    if received_at:
        body["received_at"] = received_at
    try:
        status, result = call("POST", f"{url}/v1/cases", token=token, body=body)
    except ApiError as exc:
        raise _fail(exc) from None
    verb = "registered" if status == 201 else "already registered"
    console.print(f"{verb}: [bold]{result['tracking_no']}[/bold] (case {result['case_id']}); "
                  f"query code for the petitioner: [bold]{result['query_code']}[/bold]")


keys_app = typer.Typer(help="The keys of personal data at rest.", no_args_is_help=True)


@keys_app.command("rotate")
def rotate_keys(batch: int = typer.Option(500, min=1, max=10000)) -> None:
    """Re-encrypt every stored identity under the writing key (XF_PII_KEY, id XF_PII_KEY_ID;
    older keys in XF_PII_OLD_KEYS). Safe while intake runs; run it again after a stop."""
    import asyncio

    import asyncpg

    from services.intake.config import IntakeSettings
    from services.intake.keyring import MissingKey
    from services.intake.main import keys_from
    from services.intake.rotation import rotate

    settings = IntakeSettings()  # type: ignore[call-arg]  # keys and database from the env

    async def run() -> None:
        pool = await asyncpg.create_pool(settings.database_url.get_secret_value(),
                                         min_size=1, max_size=2)
        try:
            done = await rotate(pool, keys_from(settings).cipher, batch)
        finally:
            await pool.close()
        typer.echo(f"{done.cases} cases examined, {done.rewritten} re-encrypted under key "
                   f"{settings.pii_key_id!r}")

    try:
        asyncio.run(run())
    except MissingKey as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
