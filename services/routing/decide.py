"""Pure routing decisions: which unit (回避 and objections applied), key-case status and the
responsible leader; and the checks on a reassignment by staff.

No I/O: the routing service loads the facts (from its own database) and the rule set, calls these
functions and records what they return. Every decision carries machine-readable reasons so that
an assignment can be explained and audited later. Links to earlier cases are in ``links.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.routing.rules import Leader, RuleSet

COLLECTIVE_MIN_SIGNERS = 5  # docs/domain.md §3: 集体访/联名信 = five or more signers
MANUAL_RULE = "manual"  # rule id recorded for a reassignment by staff
_OBJECTION = "objection:"  # reason prefix of a unit excluded by its own objection

# -- routing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFacts:
    jurisdiction: str  # vocabulary code (or Chinese label)
    category: str  # vocabulary code (or Chinese label)
    signers: int = 1
    subject_unit: str | None = None  # the unit the case is about: code or name
    subject_person: str | None = None  # the person the case is about: code or name
    # Key-case reasons established before routing, e.g. ("flagged",) by staff or
    # ("third_repeat_12m",) from links.is_third_repeat_within_12_months.
    flagged_key: tuple[str, ...] = ()
    # Units that objected that the case is not their remit (Art. 23): never assigned again.
    objected_units: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoutingDecision:
    unit: str | None  # exactly one of unit / transfer_out is set
    transfer_out: str | None
    rule_id: str
    rule_version: int
    reasons: tuple[str, ...]  # machine codes: rule:…, recusal:…, leader:…
    key_case: bool
    key_reasons: tuple[str, ...]  # collective, repeat, …
    leader: Leader | None  # only for key cases handled inside the bureau


def route(case: CaseFacts, rules: RuleSet) -> RoutingDecision:
    """Route one case: first matching rule, then 回避, then key-case status and leader."""
    vocab = rules.vocabulary
    jurisdiction = vocab.jurisdictions.resolve(case.jurisdiction)
    category = vocab.categories.resolve(case.category)
    if jurisdiction is None or category is None:
        raise ValueError(f"unknown jurisdiction/category {case.jurisdiction!r}/{case.category!r}")
    rule = rules.match(jurisdiction, category)
    reasons = [f"rule:{rule.id}"]
    excluded = _excluded_roots(case, rules, reasons)

    unit, transfer_out = rule.unit, rule.transfer_out
    if unit is not None:
        unit = _climb(unit, excluded, rules, reasons)
        if unit is None:  # every unit up to the top is excluded: the body above the bureau
            transfer_out = rules.superior_body
            reasons.append("recusal:top")

    key_reasons = list(dict.fromkeys(case.flagged_key))
    if case.signers >= COLLECTIVE_MIN_SIGNERS and "collective" not in key_reasons:
        key_reasons.append("collective")
    leader = None
    if key_reasons and unit is not None:
        leader = _leader(jurisdiction, unit, excluded, case.subject_person, rules, reasons)
    return RoutingDecision(
        unit=unit, transfer_out=transfer_out, rule_id=rule.id, rule_version=rules.version,
        reasons=tuple(reasons), key_case=bool(key_reasons), key_reasons=tuple(key_reasons),
        leader=leader,
    )


def _excluded_roots(case: CaseFacts, rules: RuleSet, reasons: list[str]) -> dict[str, str]:
    """Units the case must keep away from (with everything below them) → the reason code.

    回避 (docs/domain.md §3; Art. 30: reported material never goes to the accused): the subject unit
    and
    the unit of a named person. Units below them are excluded too: a subordinate cannot judge
    its superior. Only configured units and people can be recognised, so an unknown subject is
    recorded in the reasons for a person to check, and excludes nothing.
    """
    roots: dict[str, str] = {}
    if case.subject_unit:
        code = rules.resolve_unit(case.subject_unit)
        if code is None:
            reasons.append("subject_unit:unknown")
        else:
            roots[code] = f"recusal:subject_unit:{code}"
    if case.subject_person:
        people = rules.find_people(case.subject_person)
        if not people:
            reasons.append("subject_person:unknown")
        for person in people:
            roots.setdefault(person.unit, f"recusal:subject_person:{person.code}")
    # An objection (Art. 23) says "not my remit": it excludes the objecting unit only, not the
    # units below it, which never handled the case.
    for value in case.objected_units:
        code = rules.resolve_unit(value)
        if code is not None:
            roots.setdefault(code, f"{_OBJECTION}{code}")
    return roots


def _excluded_by(unit: str, roots: dict[str, str], rules: RuleSet) -> str | None:
    """The reason ``unit`` may not handle the case, or None when it may."""
    for root, reason in roots.items():
        if unit == root:
            return reason
        if reason.startswith(_OBJECTION):
            continue
        # The discipline office is stationed in the bureau but supervises it: a report about
        # the bureau (or one of its sections) does not exclude it, only a report about itself.
        if rules.units[unit].kind != "discipline" and rules.is_within(unit, root):
            return reason
    return None


def _climb(unit: str, roots: dict[str, str], rules: RuleSet, reasons: list[str]) -> str | None:
    """The first unit from ``unit`` upwards that 回避 allows; None past the top."""
    for candidate in rules.parent_chain(unit):
        why = _excluded_by(candidate, roots, rules)
        if why is None:
            return candidate
        if not why.startswith(_OBJECTION):
            reasons.append(f"recusal:unit:{candidate}")
        if why not in reasons:
            reasons.append(why)
    return None


def _leader(jurisdiction: str, unit: str, roots: dict[str, str], subject_person: str | None,
            rules: RuleSet, reasons: list[str]) -> Leader | None:
    """领导包案: the jurisdiction's leader, else the default, if their remit and 回避 allow.

    A leader can take responsibility only for a case handled inside their own unit (a county
    head has no authority over the city bureau a recused case went up to), and never for a case
    about themselves or their unit.
    """
    named = {p.name for p in rules.find_people(subject_person)} if subject_person else set()
    if subject_person:
        named.add(subject_person.strip())
    for leader in rules.leaders_for(jurisdiction):
        scope = "default" if leader.jurisdiction == "*" else leader.jurisdiction
        if leader.name in named or _excluded_by(leader.unit, roots, rules) is not None:
            reasons.append(f"leader:recusal:{scope}")
            continue
        if not rules.is_within(unit, leader.unit):  # outside this leader's remit
            continue
        reasons.append(f"leader:{scope}")
        return leader
    reasons.append("leader:none")
    return None


class ReassignmentRefused(ValueError):
    """Staff asked for a unit the case may not go to; ``reason`` is a machine code."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


def reassign(case: CaseFacts, unit: str, rules: RuleSet, *, rule_id: str = MANUAL_RULE
             ) -> RoutingDecision:
    """A reassignment by staff to ``unit`` (code or name), checked like a routed decision:
    never to the subject of the case or a unit below it (回避), never to a unit that objected.
    The key-case status and the leader follow the new unit. ``rule_id`` names what decided it
    (staff by default; ``key_case`` when a case becomes key and only gains a leader)."""
    code = rules.resolve_unit(unit)
    if code is None:
        raise ReassignmentRefused("unknown_unit", f"unknown unit {unit!r}")
    jurisdiction = rules.vocabulary.jurisdictions.resolve(case.jurisdiction) or case.jurisdiction
    reasons = [rule_id]
    excluded = _excluded_roots(case, rules, reasons)
    why = _excluded_by(code, excluded, rules)
    if why is not None:
        what = ("objected to this case" if why.startswith(_OBJECTION)
                else "is the subject of this case or below it (回避)")
        raise ReassignmentRefused(why, f"unit {code!r} {what}")
    key_reasons = list(dict.fromkeys(case.flagged_key))
    if case.signers >= COLLECTIVE_MIN_SIGNERS and "collective" not in key_reasons:
        key_reasons.append("collective")
    leader = None
    if key_reasons:
        leader = _leader(jurisdiction, code, excluded, case.subject_person, rules, reasons)
    return RoutingDecision(
        unit=code, transfer_out=None, rule_id=rule_id, rule_version=rules.version,
        reasons=tuple(reasons), key_case=bool(key_reasons), key_reasons=tuple(key_reasons),
        leader=leader,
    )
