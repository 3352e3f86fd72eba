"""The layers of ``shared/`` stay apart, and no service reaches into developer tooling.

- ``shared.domain``: pure rules; imports nothing else of the project.
- ``shared.platform``: the service platform; may use the domain, never the tools.
- ``shared.tools``: the CLI, the local stack, test helpers; may use anything.
- ``services.*``: domain and platform only; a service's ``cli`` module is part of the
  ``xf`` command line and may use ``shared.tools.cli``, nothing else of the tools.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return {n for n in names if n.split(".")[0] in ("shared", "services")}


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _violations(folder: str, allowed: tuple[str, ...], exempt: str | None = None) -> list[str]:
    bad = []
    for path in _modules(folder):
        for name in _imports(path):
            if exempt and path.name == "cli.py" and name.startswith(exempt):
                continue
            if not name.startswith(allowed) and name not in ("shared", "services"):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


@pytest.mark.parametrize(("folder", "allowed", "exempt"), [
    ("shared/domain", ("shared.domain",), None),
    ("shared/platform", ("shared.domain", "shared.platform"), None),
    ("services", ("shared.domain", "shared.platform", "services"), "shared.tools.cli"),
])
def test_layer_imports_only_what_is_below_it(folder: str, allowed: tuple[str, ...],
                                             exempt: str | None) -> None:
    assert _violations(folder, allowed, exempt) == []


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("from shared.tools.stack import control\n", encoding="utf-8")
    assert _imports(sample) == {"shared.tools.stack", "shared.tools.stack.control"}


def test_a_service_module_reaches_no_other_service() -> None:
    bad = []
    for path in _modules("services"):
        own = path.relative_to(ROOT / "services").parts[0]
        bad += [f"{path.relative_to(ROOT)} imports {n}" for n in _imports(path)
                if n.startswith("services.") and not n.startswith(f"services.{own}")]
    assert bad == []
