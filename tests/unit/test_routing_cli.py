"""``xf routing rules validate`` (offline) and the rule store's pure helpers."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from services.routing.cli import app
from services.routing.ruleset_store import _version_line, digest_of

DEMO = Path(__file__).parents[2] / "deploy" / "config" / "routing-rules.yaml"


def test_validate_accepts_the_demo_rules() -> None:
    result = CliRunner().invoke(app, ["rules", "validate", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert "valid, version 1: 27 units" in result.output


def test_validate_names_each_bad_line(tmp_path: Path) -> None:
    text = DEMO.read_text(encoding="utf-8")
    bad = tmp_path / "rules.yaml"
    bad.write_text(text.replace("{id: city-fees, jurisdiction: city, category: fees, "
                                "unit: finance}", "{id: city-fees, jurisdiction: city, "
                                "category: fees, unit: treasury}"), encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "validate", str(bad)])
    line = next(i for i, x in enumerate(bad.read_text().splitlines(), 1) if "treasury" in x)
    assert result.exit_code == 1
    assert f"{bad}:{line}: unknown unit 'treasury'" in result.output


def test_version_line_and_digest() -> None:
    text = DEMO.read_text(encoding="utf-8")
    assert text.splitlines()[_version_line(text) - 1].startswith("version:")
    assert _version_line("rules: []\n") == 1
    assert digest_of(text) == digest_of(text) != digest_of(text + " ")
