"""Property-based fuzzing of the two operator-facing loaders: the routing-rules YAML and the
calendar overlay. Whatever the input, each answers with its own error naming where (a line, a
year) or with a valid result; nothing else escapes. ``make fuzz`` runs the long profile."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.routing.rules import RuleSet, RuleSetInvalid, load_rule_set
from shared.domain.calendar import OverlayError, YearDays, load_overlay, parse_overlay
from shared.platform.settings import REPO_ROOT

settings.register_profile("default", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("XF_HYPOTHESIS_PROFILE", "default"))

RULES = (REPO_ROOT / "deploy" / "config" / "routing-rules.yaml").read_text(encoding="utf-8")
RULE_LINES = RULES.splitlines(keepends=True)
KEYS = ["version", "superior_body", "units", "people", "leaders", "rules", "code", "name",
        "parent", "kind", "jurisdiction", "category", "unit", "priority", "id"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(),
                    st.text(max_size=20), st.sampled_from(KEYS), st.dates())
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.integers()),
                    inner, max_size=5)), max_leaves=25)


def _rules_outcome(text: str) -> RuleSet | RuleSetInvalid:
    try:
        return load_rule_set(text)
    except RuleSetInvalid as exc:
        assert exc.errors, "a refusal lists at least one problem"
        last = text.count("\n") + 2
        assert all(1 <= e.line <= last and e.message for e in exc.errors), exc.errors
        return exc


def test_the_shipped_rules_load() -> None:
    assert isinstance(load_rule_set(RULES), RuleSet)


@given(st.text(max_size=400))
def test_any_text_is_a_rule_set_or_errors_with_lines(text: str) -> None:
    _rules_outcome(text)


@given(documents)
def test_any_yaml_document_is_a_rule_set_or_errors_with_lines(doc: Any) -> None:
    _rules_outcome(yaml.safe_dump(doc, allow_unicode=True))


@given(st.data())
def test_mutations_of_the_shipped_rules_are_caught_with_their_line(data: st.DataObject) -> None:
    lines = list(RULE_LINES)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        kind = data.draw(st.sampled_from(["drop", "duplicate", "replace", "truncate"]))
        if kind == "drop":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "replace":
            lines[i] = data.draw(st.text(max_size=60)) + "\n"
        else:
            lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))] + "\n"
    _rules_outcome("".join(lines))


def _overlay_outcome(doc: Any) -> dict[int, YearDays] | OverlayError:
    try:
        parsed = parse_overlay(doc)
    except OverlayError as exc:
        assert str(exc).startswith("overlay"), exc  # it names its source
        return exc
    for year, days in parsed.items():
        assert 1949 <= year <= 9998 and not days.holidays & days.workdays
    return parsed


def test_a_year_key_of_other_digits_is_an_overlay_error() -> None:
    # Found by this fuzz: "²".isdigit() holds but int("²") raises ValueError.
    for key in ("²", "２０２７", "٢٠٢٧"):
        try:
            parse_overlay({"years": {key: {"holidays": [], "workdays": []}}})
        except OverlayError as exc:
            assert "is not a year" in str(exc)
        else:
            raise AssertionError(f"{key!r} was taken for a year")


@given(documents)
def test_any_overlay_document_is_years_or_an_overlay_error(doc: Any) -> None:
    _overlay_outcome(doc)
    _overlay_outcome({"years": doc})
    _overlay_outcome({"years": {2027: doc}})


@st.composite
def overlays(draw: st.DrawFn) -> dict[int, dict[str, list[str]]]:
    years = draw(st.lists(st.integers(1949, 9998), unique=True, max_size=3))
    out = {}
    for year in years:
        offsets = draw(st.lists(st.integers(0, 364), unique=True, max_size=12))
        days = [date(year, 1, 1) + timedelta(days=n) for n in offsets]
        cut = draw(st.integers(0, len(days)))
        # Make-up working days (调休) are weekend days by definition; any day may be a holiday.
        out[year] = {"holidays": [d.isoformat() for d in days[:cut]],
                     "workdays": [d.isoformat() for d in days[cut:] if d.weekday() >= 5]}
    return out


@given(overlays())
def test_a_valid_overlay_round_trips_through_its_yaml_file(overlay: dict[int, Any]) -> None:
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"overlay-{os.getpid()}.yaml"
    path.write_text(yaml.safe_dump({"years": overlay}), encoding="utf-8")
    try:
        parsed = load_overlay(path)
    finally:
        path.unlink()
    assert set(parsed) == set(overlay)
    for year, days in parsed.items():
        assert sorted(d.isoformat() for d in days.holidays) == sorted(overlay[year]["holidays"])
        assert sorted(d.isoformat() for d in days.workdays) == sorted(overlay[year]["workdays"])


@given(st.text(max_size=300))
def test_any_overlay_file_is_years_or_an_overlay_error(text: str) -> None:
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"overlay-text-{os.getpid()}.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_overlay(path)
    except OverlayError:
        pass
    finally:
        path.unlink()
