"""Loading and validating routing rule sets: the demo configuration and every refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.routing.rules import RuleError, RuleSet, RuleSetInvalid, load_rule_set
from shared.domain.vocab import Terms, Vocabulary, default_vocabulary

DEMO_FILE = Path(__file__).parents[2] / "deploy" / "config" / "routing-rules.yaml"


@pytest.fixture(scope="module")
def demo() -> RuleSet:
    return load_rule_set(DEMO_FILE.read_text(encoding="utf-8"))


# -- the demo configuration --------------------------------------------------------------------

# The city bureau section responsible for each category of 市直属学校 (jurisdiction `city`).
CITY_SECTIONS = {
    "school_management": "basic_education",
    "fees": "finance",
    "teacher_pay": "personnel",
    "teacher_ethics": "ethics_office",
    "integrity": "discipline",
    "school_conditions": "planning",
    "enrollment_exams": "exams",
    "school_layout": "planning",
    "campus_safety": "safety",
    "illegal_tutoring": "basic_education",
    "staffing": "personnel",
    "other": "office",
}
VOCAB = default_vocabulary()
ALL_PAIRS = [(j, c) for j in VOCAB.jurisdictions.codes for c in VOCAB.categories.codes]


def expected_unit(jurisdiction: str, category: str) -> str:
    if category == "integrity":
        return "discipline"  # anywhere: the discipline inspection office
    if jurisdiction == "city":
        return CITY_SECTIONS[category]
    return f"{jurisdiction}_bureau"  # a county case: that county's bureau


def test_demo_loads(demo: RuleSet) -> None:
    assert demo.version == 1
    assert demo.units["city_bureau"].parent is None
    assert demo.units["city_bureau"].name == "吉安市教育局"
    assert demo.units["discipline"].kind == "discipline"


def test_demo_has_one_county_bureau_per_jurisdiction(demo: RuleSet) -> None:
    counties = {u.code for u in demo.units.values() if u.kind == "county_bureau"}
    assert counties == {f"{j}_bureau" for j in VOCAB.jurisdictions.codes if j != "city"}
    assert all(demo.units[c].parent == "city_bureau" for c in counties)


@pytest.mark.parametrize(("jurisdiction", "category"), ALL_PAIRS)
def test_every_jurisdiction_and_category_has_its_unit(
    demo: RuleSet, jurisdiction: str, category: str
) -> None:
    rule = demo.match(jurisdiction, category)
    assert rule.transfer_out is None
    assert rule.unit == expected_unit(jurisdiction, category)


@pytest.mark.parametrize(
    ("unit", "chain"),
    [
        ("jian_no1_middle", ("jian_no1_middle", "jian_bureau", "city_bureau")),
        ("city_no1_middle", ("city_no1_middle", "basic_education", "city_bureau")),
        ("finance", ("finance", "city_bureau")),
        ("discipline", ("discipline", "city_bureau")),
        ("city_bureau", ("city_bureau",)),
    ],
)
def test_parent_chain(demo: RuleSet, unit: str, chain: tuple[str, ...]) -> None:
    assert demo.parent_chain(unit) == chain


def test_units_and_people_resolve_by_code_or_name(demo: RuleSet) -> None:
    assert demo.resolve_unit("吉安县第一中学") == "jian_no1_middle"
    assert demo.resolve_unit("jian_bureau") == "jian_bureau"
    assert demo.resolve_unit("某培训机构") is None
    assert [p.unit for p in demo.find_people("刘卫东")] == ["jian_bureau"]
    assert [p.unit for p in demo.find_people("finance_chief")] == ["finance"]


def test_leaders_for_a_county_then_the_default(demo: RuleSet) -> None:
    assert [x.name for x in demo.leaders_for("jian")] == ["刘卫东", "周建平"]
    assert [x.name for x in demo.leaders_for("city")] == ["周建平"]


def test_to_dict_is_json_with_labels(demo: RuleSet) -> None:
    data = json.loads(json.dumps(demo.to_dict(), ensure_ascii=False))
    assert data["version"] == 1
    first = data["rules"][0]
    assert first["id"] == "integrity"
    assert first["jurisdiction"] == {"key": "*", "label": "全部"}
    assert first["category"] == {"key": "integrity", "label": "廉政建设"}
    assert first["unit"] == "discipline"
    assert {"code": "jian_bureau", "name": "吉安县教育局", "parent": "city_bureau",
            "kind": "county_bureau"} in data["units"]


def test_rule_set_is_frozen(demo: RuleSet) -> None:
    with pytest.raises(AttributeError):
        demo.version = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        demo.units["x"] = demo.units["office"]  # type: ignore[index]


# -- validation: every problem named with its line ---------------------------------------------

# A two-jurisdiction, two-category vocabulary keeps the fixture short; line numbers below refer
# to BASE (line 1 is "version: 3").
SMALL = Vocabulary(
    channels=Terms("channel", {"letter": "来信"}),
    categories=Terms("category", {"fees": "教育收费", "integrity": "廉政建设"}),
    jurisdictions=Terms("jurisdiction", {"north": "北县", "city": "市直属学校"}),
)
BASE = """\
version: 3
superior_body: 上级机关
units:
  - {code: top, name: 市局, parent: null, kind: bureau}
  - {code: sec, name: 科室, parent: top, kind: section}
  - {code: county, name: 县局, parent: top, kind: county_bureau}
  - {code: school, name: 学校, parent: county, kind: school}
  - {code: disc, name: 纪检组, parent: top, kind: discipline}
people:
  - {code: head, name: 张三, unit: county}
leaders:
  - {jurisdiction: "*", name: 李四, unit: top}
  - {jurisdiction: north, name: 张三, unit: county}
rules:
  - {id: integrity, category: integrity, unit: disc}
  - {id: city, jurisdiction: city, unit: sec}
  - {id: north, jurisdiction: 北县, unit: county}
"""


def edit(line: int, new: str | None, *, insert: bool = False) -> str:
    """BASE with line ``line`` replaced (or removed when None, or ``new`` inserted before it)."""
    lines = BASE.splitlines()
    if insert:
        lines.insert(line - 1, new or "")
    elif new is None:
        del lines[line - 1]
    else:
        lines[line - 1] = new
    return "\n".join(lines) + "\n"


def errors_of(text: str) -> list[tuple[int, str]]:
    with pytest.raises(RuleSetInvalid) as caught:
        load_rule_set(text, SMALL)
    assert all(isinstance(e, RuleError) for e in caught.value.errors)
    return [(e.line, e.message) for e in caught.value.errors]


def test_base_is_valid_and_accepts_labels() -> None:
    rules = load_rule_set(BASE, SMALL)
    assert rules.version == 3
    assert rules.match("north", "fees").id == "north"  # 北县 resolved to its code


CASES = [
    ("unknown unit in a rule", edit(17, "  - {id: north, jurisdiction: north, unit: nowhere}"),
     17, "unknown unit 'nowhere'"),
    ("unknown parent", edit(7, "  - {code: school, name: 学校, parent: nowhere, kind: school}"),
     7, "unit 'school': unknown parent 'nowhere'"),
    ("duplicate unit code", edit(7, "  - {code: sec, name: 学校, parent: county, kind: school}"),
     7, "duplicate unit code 'sec' (first: line 5)"),
    ("duplicate unit name", edit(8, "  - {code: disc, name: 科室, parent: top, kind: section}"),
     8, "unit name '科室' is also used by 'sec'"),
    ("unknown unit kind", edit(8, "  - {code: disc, name: 纪检组, parent: top, kind: office}"),
     8, "unit kind 'office' is not one of"),
    ("cycle", edit(4, "  - {code: top, name: 市局, parent: school, kind: bureau}"),
     4, "cycle in the unit hierarchy: top → school → county → top"),
    ("self-parent", edit(5, "  - {code: sec, name: 科室, parent: sec, kind: section}"),
     5, "cycle in the unit hierarchy: sec → sec"),
    ("unknown jurisdiction", edit(17, "  - {id: north, jurisdiction: south, unit: county}"),
     17, "unknown jurisdiction 'south'"),
    ("unknown category", edit(15, "  - {id: integrity, category: bribery, unit: disc}"),
     15, "unknown category 'bribery'"),
    ("shadowed by a more general rule",
     edit(18, "  - {id: north-fees, jurisdiction: north, category: fees, unit: school}",
          insert=True),
     18, "rule 'north-fees' is unreachable: earlier rules take all its cases: 'north' (line 17)"),
    ("shadowed by several narrower rules",
     edit(16, "  - {id: city-fees, jurisdiction: city, category: fees, unit: sec}", insert=True),
     17, "rule 'city' is unreachable: earlier rules take all its cases: 'integrity' (line 15), "
         "'city-fees' (line 16)"),
    ("a jurisdiction without a default", edit(17, None),
     14, "jurisdiction 'north' (北县) has no rule for: fees (add a rule or a default)"),
    ("leader with an unknown unit", edit(13, "  - {jurisdiction: north, name: 张三, unit: x}"),
     13, "unknown unit 'x'"),
    ("no default leader", edit(12, None), 11, "no default leader (jurisdiction '*')"),
    ("two leaders for a jurisdiction",
     edit(13, "  - {jurisdiction: north, name: 王五, unit: county}", insert=True),
     14, "a second leader for jurisdiction 'north'"),
    ("person with an unknown unit", edit(10, "  - {code: head, name: 张三, unit: y}"),
     10, "unknown unit 'y'"),
    ("both unit and transfer_out",
     edit(16, "  - {id: city, jurisdiction: city, unit: sec, transfer_out: 市场监管局}"),
     16, "rule 'city': give exactly one of unit, transfer_out"),
    ("duplicate rule id", edit(17, "  - {id: city, jurisdiction: north, unit: county}"),
     17, "duplicate rule id 'city'"),
    ("unknown key", edit(17, "  - {id: north, jurisdication: north, unit: county}"),
     17, "rule: unknown key 'jurisdication'"),
    ("duplicate key", edit(2, "version: 4", insert=True), 2, "rule set: duplicate key 'version'"),
    ("bad version", edit(1, "version: first"), 1, "version must be a positive integer"),
    ("not YAML", edit(16, "  - {id: city, jurisdiction: city, unit: sec"),
     17, "not valid YAML"),
]


@pytest.mark.parametrize(("text", "line", "message"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_each_error_names_its_line(text: str, line: int, message: str) -> None:
    found = errors_of(text)
    assert len(found) == 1, found  # one mistake, one error: no follow-on noise
    assert found[0][0] == line
    assert message in found[0][1]


def test_missing_sections_and_every_error_at_once() -> None:
    text = edit(17, "  - {id: north, jurisdiction: north, unit: nowhere}").replace(
        "superior_body: 上级机关\n", "")
    found = errors_of(text)
    assert (1, "rule set: missing 'superior_body'") in found
    assert (16, "unknown unit 'nowhere'") in found


def test_empty_text_is_refused() -> None:
    assert errors_of("") == [(1, "the rule set is empty")]
    assert errors_of("- a list\n") == [(1, "rule set must be a mapping")]


def test_error_text_lists_lines_in_order() -> None:
    text = edit(17, "  - {id: north, jurisdiction: north, unit: nowhere}")
    text = text.replace("parent: county, kind: school", "parent: gone, kind: school")
    with pytest.raises(RuleSetInvalid) as caught:
        load_rule_set(text, SMALL)
    assert [e.line for e in caught.value.errors] == [7, 17]
    assert str(caught.value).splitlines()[1].startswith("line 7: ")


def test_transfer_out_rule_is_accepted() -> None:
    text = edit(16, "  - {id: city, jurisdiction: city, transfer_out: 市市场监督管理局}")
    rule = load_rule_set(text, SMALL).match("city", "fees")
    assert (rule.unit, rule.transfer_out) == (None, "市市场监督管理局")
