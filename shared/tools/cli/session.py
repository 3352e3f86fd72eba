"""The bearer token of ``xf`` commands: ``--token``/``$XF_TOKEN``, or the one ``xf login``
stored (per checkout, under var/, readable by its owner only)."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

import typer


def token_file() -> Path:
    from shared.tools.stack.layout import Layout

    return Path(os.environ.get("XF_CLI_TOKEN_FILE", str(Layout().var / "cli" / "token.json")))


def store(token: str, username: str, console: str) -> Path:
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"access_token": token, "username": username, "console": console}, f)
    return path


def stored_token() -> str | None:
    try:
        return str(json.loads(token_file().read_text(encoding="utf-8"))["access_token"])
    except (OSError, ValueError, KeyError):
        return None


def _resolve(value: str | None) -> str:
    found = value or stored_token()
    if not found:
        raise typer.BadParameter("sign in first (`xf login USERNAME`) or pass --token / set "
                                 "XF_TOKEN", param_hint="--token")
    return found


TOKEN = typer.Option(None, "--token", envvar="XF_TOKEN", callback=_resolve,
                     help="bearer token (default: the one `xf login` stored)")


def read_password(prompt: str = "password: ") -> str:
    """From the terminal without echo, or the first line of standard input (never an
    argument: arguments show in `ps` and in shell history)."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\n")
