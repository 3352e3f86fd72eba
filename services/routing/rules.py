"""Routing rules: which unit handles which case. Versioned configuration, validated on load.

A rule set is read from YAML text (``deploy/config/routing-rules.yaml``) and checked as a whole
before anything routes with it: a bad rule set must fail at load time with every problem and its
line number, not misroute cases later. Pure: no I/O besides parsing the text it is given.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shared.domain.vocab import Terms, Vocabulary, default_vocabulary

ANY = "*"
UNIT_KINDS = ("bureau", "section", "county_bureau", "school", "discipline")


@dataclass(frozen=True)
class RuleError:
    line: int  # 1-based line of the YAML text
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class RuleSetInvalid(ValueError):
    """The rule set was refused; ``errors`` lists every problem found, in line order."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = sorted(errors, key=lambda e: e.line)
        super().__init__("invalid routing rules:\n" + "\n".join(map(str, self.errors)))


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    parent: str | None
    kind: str  # one of UNIT_KINDS


@dataclass(frozen=True)
class Person:
    code: str
    name: str
    unit: str
    title: str = ""


@dataclass(frozen=True)
class Leader:
    """A responsible leader (领导包案) for key cases of a jurisdiction (``*``: the default)."""

    jurisdiction: str
    name: str
    title: str
    unit: str


@dataclass(frozen=True)
class Rule:
    id: str
    jurisdiction: str  # a code or ANY
    category: str  # a code or ANY
    unit: str | None  # exactly one of unit / transfer_out is set
    transfer_out: str | None = None

    def matches(self, jurisdiction: str, category: str) -> bool:
        return self.jurisdiction in (ANY, jurisdiction) and self.category in (ANY, category)


@dataclass(frozen=True)
class RuleSet:
    version: int
    superior_body: str  # where 回避 sends a case that excludes the top of the hierarchy
    units: Mapping[str, Unit]
    people: Mapping[str, Person]
    leaders: tuple[Leader, ...]
    rules: tuple[Rule, ...]
    vocabulary: Vocabulary = field(repr=False, compare=False)
    # (jurisdiction, category) → the rule that matched: the set never changes, and routing
    # asks the same few hundred questions over and over.
    _matched: dict[tuple[str, str], Rule] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def parent_chain(self, unit: str) -> tuple[str, ...]:
        """``unit`` itself, then its parent, and so on up to the top. KeyError if unknown."""
        chain = [unit]
        parent = self.units[unit].parent
        while parent is not None:  # the loader rejected cycles, so this ends
            chain.append(parent)
            parent = self.units[parent].parent
        return tuple(chain)

    def is_within(self, unit: str, ancestor: str) -> bool:
        """True when ``unit`` is ``ancestor`` or below it."""
        return ancestor in self.parent_chain(unit)

    def resolve_unit(self, value: str) -> str | None:
        """The code of a unit given by code or by (Chinese) name; None if unknown."""
        value = value.strip()
        if value in self.units:
            return value
        return next((u.code for u in self.units.values() if u.name == value), None)

    def find_people(self, value: str) -> tuple[Person, ...]:
        """People named by code, else everyone with that name (names need not be unique)."""
        value = value.strip()
        if value in self.people:
            return (self.people[value],)
        return tuple(p for p in self.people.values() if p.name == value)

    def match(self, jurisdiction: str, category: str) -> Rule:
        """The first rule that matches; LookupError for codes outside the vocabulary."""
        found = self._matched.get((jurisdiction, category))
        if found is not None:
            return found
        for rule in self.rules:
            if rule.matches(jurisdiction, category):
                self._matched[(jurisdiction, category)] = rule
                return rule
        raise LookupError(f"no routing rule for {jurisdiction!r} × {category!r}")

    def leaders_for(self, jurisdiction: str) -> tuple[Leader, ...]:
        """Candidates in order of preference: the jurisdiction's own leader, then the default."""
        own = [x for x in self.leaders if x.jurisdiction == jurisdiction]
        return (*own, *(x for x in self.leaders if x.jurisdiction == ANY))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``GET /v1/rules``; vocabulary codes with labels (docs/domain.md
        §2)."""

        def term(terms: Terms, code: str) -> dict[str, str]:
            return {"key": ANY, "label": "全部"} if code == ANY else terms.render(code)

        v = self.vocabulary
        return {
            "version": self.version,
            "superior_body": self.superior_body,
            "units": [asdict(u) for u in self.units.values()],
            "people": [asdict(p) for p in self.people.values()],
            "leaders": [{**asdict(x), "jurisdiction": term(v.jurisdictions, x.jurisdiction)}
                        for x in self.leaders],
            "rules": [{**asdict(r), "jurisdiction": term(v.jurisdictions, r.jurisdiction),
                       "category": term(v.categories, r.category)} for r in self.rules],
        }


def load_rule_set(text: str, vocabulary: Vocabulary | None = None) -> RuleSet:
    """Parse and validate a rule set; RuleSetInvalid lists every problem with its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:  # marked errors know where; a bad byte may not
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else 1
        raise RuleSetInvalid([RuleError(line, f"not valid YAML: {problem}")]) from exc
    if root is None:
        raise RuleSetInvalid([RuleError(1, "the rule set is empty")])
    return _Loader(vocabulary or default_vocabulary()).load(root)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


class _Loader:
    """Walks the composed node tree (which keeps line marks) and collects every error."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocab = vocabulary
        self.errors: list[RuleError] = []
        self._scalars = SafeConstructor()

    def error(self, node: Node, message: str) -> None:
        self.errors.append(RuleError(_line(node), message))

    # -- node helpers: each reports what is wrong and returns None (or nothing) for it --------

    def mapping(self, node: Node, what: str, required: set[str], optional: set[str]
                ) -> dict[str, Node] | None:
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping")
            return None
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node)
            if not isinstance(key, str) or key not in required | optional:
                self.error(key_node, f"{what}: unknown key {key!r}")
            elif key in out:
                self.error(key_node, f"{what}: duplicate key {key!r}")
            else:
                out[key] = value_node
        for key in sorted(required - out.keys()):
            self.error(node, f"{what}: missing {key!r}")
        return out

    def entries(self, node: Node | None, what: str, required: set[str], optional: set[str]
                ) -> Iterator[tuple[Node, dict[str, Node]]]:
        """Each entry of a list that is a mapping, with its keys (the others are reported)."""
        if node is not None and not isinstance(node, SequenceNode):
            self.error(node, f"expected a list of {what} entries")
        elif node is not None:
            for entry in node.value:
                if (m := self.mapping(entry, what, required, optional)) is not None:
                    yield entry, m

    def scalar(self, node: Node) -> object:
        if not isinstance(node, ScalarNode):
            return node  # every caller rejects a non-scalar by its type
        try:
            return self._scalars.construct_object(node)
        except (yaml.YAMLError, ValueError):  # e.g. a date-like 2025-13-45: keep it as text
            return str(node.value)

    def text(self, node: Node | None, what: str, *, nullable: bool = False) -> str | None:
        value = None if node is None else self.scalar(node)
        if node is None or (value is None and nullable):
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(node, f"{what} must be non-empty text")
            return None
        return value.strip()

    def term(self, node: Node | None, terms: Terms) -> str | None:
        """A vocabulary code (given as code or label) or ANY, which is also the default."""
        value = ANY if node is None else self.text(node, terms.name)
        code = ANY if value == ANY else terms.resolve(value) if value is not None else None
        if node is not None and value is not None and code is None:
            self.error(node, f"unknown {terms.name} {value!r}")
        return code

    def unit(self, node: Node | None, units: dict[str, Unit]) -> str | None:
        code = self.text(node, "unit")
        if node is not None and code is not None and code not in units:
            self.error(node, f"unknown unit {code!r}")
            return None
        return code

    # -- sections ----------------------------------------------------------------------------

    def load(self, root: Node) -> RuleSet:
        required = {"version", "superior_body", "units", "leaders", "rules"}
        top = self.mapping(root, "rule set", required, {"description", "people"})
        if top is None:
            raise RuleSetInvalid(self.errors)
        version = self.scalar(top["version"]) if "version" in top else None
        if "version" in top and (type(version) is not int or version < 1):
            self.error(top["version"], "version must be a positive integer")
        superior = self.text(top.get("superior_body"), "superior_body")
        units = self.units(top.get("units"))
        people = self.people(top.get("people"), units)
        # Findings about a whole section point at its key ("rules:"), not at its first entry.
        keys = {self.scalar(k): k for k, _ in root.value} if isinstance(root, MappingNode) else {}
        leaders = self.leaders(top.get("leaders"), units, keys.get("leaders"))
        rules = self.rules(top.get("rules"), units, keys.get("rules"))
        if self.errors:
            raise RuleSetInvalid(self.errors)
        assert isinstance(version, int) and superior is not None  # checked above
        return RuleSet(
            version=version, superior_body=superior, units=MappingProxyType(units),
            people=MappingProxyType(people), leaders=tuple(leaders), rules=tuple(rules),
            vocabulary=self.vocab,
        )

    def units(self, node: Node | None) -> dict[str, Unit]:
        units: dict[str, Unit] = {}
        where: dict[str, dict[str, Node]] = {}  # code → its keys, for line numbers
        by_name: dict[str, str] = {}
        for entry, m in self.entries(node, "unit", {"code", "name", "parent", "kind"}, set()):
            code, name = self.text(m.get("code"), "unit code"), self.text(m.get("name"), "name")
            parent = self.text(m.get("parent"), "parent", nullable=True)
            kind = self.text(m.get("kind"), "kind")
            if kind is not None and kind not in UNIT_KINDS:
                self.error(m["kind"], f"unit kind {kind!r} is not one of {', '.join(UNIT_KINDS)}")
            if code in units:
                self.error(entry, f"duplicate unit code {code!r} (first: line "
                                  f"{_line(where[code]['code'])})")
            elif code is not None and name is not None and kind is not None:
                if name in by_name:  # cases may name their subject unit: keep names unambiguous
                    self.error(m["name"], f"unit name {name!r} is also used by {by_name[name]!r}")
                units[code], where[code], by_name[name] = Unit(code, name, parent, kind), m, code
        for code, unit in units.items():
            if unit.parent is not None and unit.parent not in units:
                self.error(where[code]["parent"], f"unit {code!r}: unknown parent {unit.parent!r}")
        self.cycles(units, {code: m["code"] for code, m in where.items()})
        return units

    def cycles(self, units: dict[str, Unit], where: dict[str, Node]) -> None:
        """Report each cycle of the hierarchy once, at its first unit in file order."""
        on_cycles: set[str] = set()
        for start in units:  # file order
            path: list[str] = []
            code: str | None = start
            while code in units and code not in path:
                path.append(code)
                code = units[code].parent
            if code == start and start not in on_cycles:  # the walk came back: a cycle
                on_cycles.update(path)
                self.error(where[start], "cycle in the unit hierarchy: "
                           + " → ".join([*path, start]))

    def people(self, node: Node | None, units: dict[str, Unit]) -> dict[str, Person]:
        people: dict[str, Person] = {}
        for entry, m in self.entries(node, "person", {"code", "name", "unit"}, {"title"}):
            code, name = self.text(m.get("code"), "person code"), self.text(m.get("name"), "name")
            unit, title = self.unit(m.get("unit"), units), self.text(m.get("title"), "title")
            if code in people:
                self.error(entry, f"duplicate person code {code!r}")
            elif code is not None and name is not None and unit is not None:
                people[code] = Person(code, name, unit, title or "")
        return people

    def leaders(self, node: Node | None, units: dict[str, Unit], key: Node | None
                ) -> list[Leader]:
        leaders: list[Leader] = []
        for entry, m in self.entries(node, "leader", {"jurisdiction", "name", "unit"}, {"title"}):
            jurisdiction = self.term(m.get("jurisdiction"), self.vocab.jurisdictions)
            name, title = self.text(m.get("name"), "name"), self.text(m.get("title"), "title")
            unit = self.unit(m.get("unit"), units)
            if any(x.jurisdiction == jurisdiction for x in leaders):
                self.error(entry, f"a second leader for jurisdiction {jurisdiction!r}")
            elif jurisdiction is not None and name is not None and unit is not None:
                leaders.append(Leader(jurisdiction, name, title or "", unit))
        if key is not None and not any(x.jurisdiction == ANY for x in leaders):
            self.error(key, "no default leader (jurisdiction '*')")
        return leaders

    def rules(self, node: Node | None, units: dict[str, Unit], key: Node | None) -> list[Rule]:
        rules: list[Rule] = []
        lines: list[int] = []  # line of each rule in ``rules``
        # Coverage gaps are only worth reporting when every rule could be read.
        complete = isinstance(node, SequenceNode) and all(
            isinstance(entry, MappingNode) for entry in node.value)
        optional = {"jurisdiction", "category", "unit", "transfer_out"}
        for entry, m in self.entries(node, "rule", {"id"}, optional):
            rule_id = self.text(m.get("id"), "rule id")
            jurisdiction = self.term(m.get("jurisdiction"), self.vocab.jurisdictions)
            category = self.term(m.get("category"), self.vocab.categories)
            unit = self.unit(m.get("unit"), units)
            transfer_out = self.text(m.get("transfer_out"), "transfer_out")
            if ("unit" in m) == ("transfer_out" in m):
                self.error(entry, f"rule {rule_id!r}: give exactly one of unit, transfer_out")
            if any(r.id == rule_id for r in rules):
                self.error(m["id"], f"duplicate rule id {rule_id!r}")
            if rule_id is None or jurisdiction is None or category is None:
                complete = False
                continue
            rules.append(Rule(rule_id, jurisdiction, category, unit, transfer_out))
            lines.append(_line(entry))
        if key is not None:
            self.coverage(key, rules, lines, report_gaps=complete)
        return rules

    def coverage(self, node: Node, rules: list[Rule], lines: list[int], *,
                 report_gaps: bool) -> None:
        """Unreachable rules and uncovered jurisdiction × category pairs.

        The vocabulary is finite (14 × 12 pairs in the demo), so the check is exact: a rule is
        unreachable when every pair it matches is already taken by earlier rules, whether by one
        more general rule or by several narrower ones together.
        """
        jurisdictions, categories = self.vocab.jurisdictions.codes, self.vocab.categories.codes
        taken: dict[tuple[str, str], int] = {}  # pair → index of the rule that takes it
        for i, rule in enumerate(rules):
            pairs = [(j, c) for j in jurisdictions for c in categories if rule.matches(j, c)]
            fresh = [p for p in pairs if p not in taken]
            if not fresh:
                names = ", ".join(f"{rules[k].id!r} (line {lines[k]})"
                                  for k in sorted({taken[p] for p in pairs}))
                self.errors.append(RuleError(lines[i], f"rule {rule.id!r} is unreachable: "
                                             f"earlier rules take all its cases: {names}"))
            taken.update((p, i) for p in fresh)
        for j in jurisdictions if report_gaps else ():
            missing = [c for c in categories if (j, c) not in taken]
            if missing:
                self.error(node, f"jurisdiction {j!r} ({self.vocab.jurisdictions.label(j)}) has "
                                 f"no rule for: {', '.join(missing)} (add a rule or a default)")
