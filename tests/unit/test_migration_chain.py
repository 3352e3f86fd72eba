"""Each service's migrations form one line: every revision named once, each revising the one
before, one head. Two branches that each add "the next" migration merge without a textual
conflict; alembic would then refuse to upgrade with two heads, at deploy time. This catches it
at merge time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared.platform.settings import REPO_ROOT

SERVICES = sorted(p.parent.parent.name
                  for p in (REPO_ROOT / "services").glob("*/migrations/versions"))


def _revisions(folder: Path) -> dict[str, str | None]:
    """revision → down_revision, read from the files' assignments (nothing imported)."""
    out: dict[str, str | None] = {}
    for path in sorted(folder.glob("*.py")):
        values: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        values[target.id] = node.value.value
        revision = values.get("revision")
        assert isinstance(revision, str), f"{path.name}: no revision"
        assert revision not in out, f"{path.name}: revision {revision} named twice"
        down = values.get("down_revision")
        assert down is None or isinstance(down, str), f"{path.name}: down_revision {down!r}"
        out[revision] = down
    return out


def test_every_service_has_migrations() -> None:
    assert {"intake", "routing", "deadlines", "statistics", "console"} <= set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_form_one_line(service: str) -> None:
    revisions = _revisions(REPO_ROOT / "services" / service / "migrations" / "versions")
    roots = [r for r, down in revisions.items() if down is None]
    assert len(roots) == 1, f"{service}: {len(roots)} first migrations"
    children: dict[str, list[str]] = {}
    for revision, down in revisions.items():
        if down is not None:
            assert down in revisions, f"{service}: {revision} revises unknown {down}"
            children.setdefault(down, []).append(revision)
    forks = {down: kids for down, kids in children.items() if len(kids) > 1}
    assert not forks, f"{service}: two migrations revise the same one: {forks}"
