"""``xf users`` (accounts, through the console's API with an admin token) and ``xf login``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from shared.tools.cli.http import ApiError, call
from shared.tools.cli.local import local_url
from shared.tools.cli.session import TOKEN, read_password, store

app = typer.Typer(help="Accounts of the persons who use Xinfang (admin).", no_args_is_help=True)
console = Console()
URL = typer.Option(local_url("console"), envvar="XF_CONSOLE_URL", help="the console's base URL")


def _fail(exc: ApiError) -> typer.Exit:
    console.print(f"[red]refused ({exc.status})[/red] {exc.body}")
    return typer.Exit(1)


def _post(url: str, token: str | None, body: object, method: str = "POST") -> object:
    try:
        return call(method, url, token=token, body=body)[1]
    except ApiError as exc:
        raise _fail(exc) from None


@app.command()
def add(username: str,
        name: str = typer.Option(..., "--name", help="display name, e.g. 李娜"),
        role: str = typer.Option(..., help="clerk, handler, unit_head, leader, staff or admin"),
        unit: str = typer.Option(None, help="a handler's or unit head's unit"),
        channel: list[str] = typer.Option(None, "--channel", help="a clerk's channel (repeat)"),
        url: str = URL, token: str = TOKEN) -> None:
    """Add an account; the password comes from standard input."""
    body: dict[str, object] = {"username": username, "display_name": name, "role": role,
            "password": read_password(f"password for {username}: ")}
    if unit:
        body["unit"] = unit
    if channel:
        body["channels"] = list(channel)
    account = _post(f"{url}/v1/accounts", token, body)
    typer.echo(f"added {username} ({role}) as {account['account_id']}")  # type: ignore[index]


@app.command("list")
def list_(url: str = URL, token: str = TOKEN) -> None:
    """Every account."""
    try:
        _, body = call("GET", f"{url}/v1/accounts", token=token)
    except ApiError as exc:
        raise _fail(exc) from None
    table = Table("username", "name", "role", "unit / channels", "disabled", "account id")
    for a in body["items"]:
        table.add_row(a["username"], a["display_name"], a["role"],
                      a["unit"] or ", ".join(a["channels"]), "yes" if a["disabled"] else "",
                      a["account_id"])
    console.print(table)


@app.command()
def disable(username: str, url: str = URL, token: str = TOKEN) -> None:
    """Stop an account signing in (tokens already issued expire within 15 minutes)."""
    _post(f"{url}/v1/accounts/{username}/disable", token, {})
    typer.echo(f"{username} disabled")


@app.command()
def enable(username: str, url: str = URL, token: str = TOKEN) -> None:
    _post(f"{url}/v1/accounts/{username}/enable", token, {})
    typer.echo(f"{username} enabled")


@app.command("reset-password")
def reset_password(username: str, url: str = URL, token: str = TOKEN) -> None:
    """Set a new password, read from standard input."""
    password = read_password(f"new password for {username}: ")
    _post(f"{url}/v1/accounts/{username}/password", token, {"password": password}, "PUT")
    typer.echo(f"password of {username} reset")


def login(username: str, url: str = URL) -> None:
    """Sign in; the password comes from standard input. Later xf commands use the token."""
    body = _post(f"{url}/v1/auth/token", None,
                 {"username": username, "password": read_password()})
    path = store(body["access_token"], username, url)  # type: ignore[index]
    typer.echo(f"signed in as {username}; token stored in {path} for "
               f"{body['expires_in'] // 60} minutes")  # type: ignore[index]
