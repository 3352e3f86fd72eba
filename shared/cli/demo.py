"""``xf demo``: feed the running stack a handful of demo cases (filled in with intake)."""

from __future__ import annotations

import typer


def demo(count: int = typer.Option(12, help="How many demo cases to submit.")) -> None:
    """Submit demo cases through the intake API."""
    typer.echo(f"demo: intake API not available yet; would submit {count} cases")
