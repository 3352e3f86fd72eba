"""``xf routing``: check a rule-set file, show or replace the active rules, show a case's
assignments."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import typer

from services.routing.rules import RuleSet, RuleSetInvalid, load_rule_set
from shared.tools.cli.local import local_url
from shared.tools.cli.session import TOKEN

app = typer.Typer(help="Routing: rules and assignments.", no_args_is_help=True)
rules_app = typer.Typer(help="The routing rule set (versioned configuration).",
                        no_args_is_help=True)
app.add_typer(rules_app, name="rules")

URL = typer.Option(local_url("routing"), "--url", envvar="XF_ROUTING_URL",
                   help="the routing service")


def _call(method: str, url: str, token: str, body: bytes | None = None,
          content_type: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Authorization": f"Bearer {token}"})
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
    except urllib.error.URLError as exc:
        typer.secho(f"cannot reach {url}: {exc.reason}", fg="red", err=True)
        raise typer.Exit(2) from exc


def _fail(status: int, body: Any) -> None:
    if isinstance(body, dict) and "errors" in body:
        for e in body["errors"]:
            where = f"line {e['line']}" if "line" in e else e.get("field", "")
            typer.secho(f"{where}: {e['message']}", fg="red", err=True)
    else:
        typer.secho(f"HTTP {status}: {body}", fg="red", err=True)
    raise typer.Exit(1)


def _summary(rules: RuleSet) -> str:
    kinds: dict[str, int] = {}
    for unit in rules.units.values():
        kinds[unit.kind] = kinds.get(unit.kind, 0) + 1
    units = ", ".join(f"{n} {k}" for k, n in kinds.items())
    return (f"version {rules.version}: {len(rules.units)} units ({units}), "
            f"{len(rules.people)} people, {len(rules.leaders)} leaders, {len(rules.rules)} rules")


@rules_app.command("validate")
def validate(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Check a rule-set file as the service would (every problem, with its line)."""
    try:
        rules = load_rule_set(file.read_text(encoding="utf-8"))
    except RuleSetInvalid as exc:
        for e in exc.errors:
            typer.secho(f"{file}:{e.line}: {e.message}", fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{file}: valid, {_summary(rules)}")


@rules_app.command("show")
def show(url: str = URL, token: str = TOKEN,
         version: int | None = typer.Option(None, help="a stored version (default: active)"),
         as_json: bool = typer.Option(False, "--json", help="the full JSON answer")) -> None:
    """The active rule set (or a stored version) as the service holds it."""
    query = f"?version={version}" if version is not None else ""
    status, body = _call("GET", f"{url}/v1/rules{query}", token)
    if status != 200:
        _fail(status, body)
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    state = "active" if body["active"] else "inactive"
    typer.echo(f"version {body['version']} ({state}, activated {body['activated_at']}, "
               f"by {body['stored_by']}), sha256 {body['digest'][:12]}")
    typer.echo(f"{len(body['units'])} units, {len(body['leaders'])} leaders; rules in order:")
    for rule in body["rules"]:
        target = rule["unit"] or f"transfer out → {rule['transfer_out']}"
        typer.echo(f"  {rule['id']:<22} {rule['jurisdiction']['label']:<8} "
                   f"{rule['category']['label']:<8} → {target}")


@rules_app.command("apply")
def apply(file: Path = typer.Argument(..., exists=True, dir_okay=False), url: str = URL,
          token: str = TOKEN) -> None:
    """Validate a rule-set file in the service and make it the active version (admin)."""
    status, body = _call("PUT", f"{url}/v1/rules", token, file.read_bytes(), "application/yaml")
    if status not in (200, 201):
        _fail(status, body)
    typer.echo(f"version {body['version']} " + ("activated" if status == 201
                                                 else "is already active, unchanged"))


@app.command("assignments")
def assignments(case_id: str, url: str = URL, token: str = TOKEN) -> None:
    """Every routing decision on a case, oldest first (staff, or a unit it was assigned to)."""
    status, body = _call("GET", f"{url}/v1/assignments/{case_id}", token)
    if status != 200:
        _fail(status, body)
    typer.echo(f"case {body['case_id']}: {body['outcome']}, status {body['status']}"
               + (f", key case ({', '.join(body['key_reasons'])})" if body["key_reasons"] else ""))
    if body["link"]:
        link = body["link"]
        typer.echo(f"  linked as {link['kind']} to {link['linked_to']}")
    for h in body["history"]:
        where = h["unit"]["label"] if h["unit"] else f"transfer out → {h['transfer_to']}"
        leader = f", leader {h['leader']['name']}" if h["leader"] else ""
        typer.echo(f"  v{h['assignment_version']} {h['at']} {h['cause']}: {where}{leader} "
                   f"[rule {h['rule_id']} v{h['rule_version']}; {', '.join(h['reasons'])}]")
