"""Pure routing decisions: which unit (回避 applied), key-case status, and links to earlier cases.

No I/O: the routing service loads the facts (from its own database) and the rule set, calls these
functions and records what they return. Every decision carries machine-readable reasons so that
an assignment can be explained and audited later.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from services.routing.rules import Leader, RuleSet

SHANGHAI = ZoneInfo("Asia/Shanghai")  # SPEC §4: dates are Asia/Shanghai local dates

COLLECTIVE_MIN_SIGNERS = 5  # SPEC §3: 集体访/联名信 = five or more signers

# Measured on the labelled pairs in tests/unit/test_routing_decide.py (``similarity``: Jaccard of
# the character bigrams, petition formulas removed):
#   different matter, same category (13 pairs): 0.03 … 0.23. The highest are the hard cases: the
#       same principal (0.23) or the same teacher (0.21) accused of something else.
#   same matter (12 pairs: copied to another channel, rephrased by an operator, shortened):
#       0.29 … 1.00 for 10 of them; two fall below any usable threshold: a one-line 12345
#       summary of a long letter (0.16) and a heavy abbreviation (0.24).
# 0.26 is the middle of the gap 0.23 … 0.29. Errors cost unequally: a wrong duplicate folds a
# new matter into another case and hides it from the counts, a missed one costs a second
# registration (and, once the first case is accepted, Art. 19 still links it as a repeat without
# comparing texts). So the threshold stays above every negative rather than catching those two.
DUPLICATE_THRESHOLD = 0.26


# -- routing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFacts:
    jurisdiction: str  # vocabulary code (or Chinese label)
    category: str  # vocabulary code (or Chinese label)
    signers: int = 1
    subject_unit: str | None = None  # the unit the case is about: code or name
    subject_person: str | None = None  # the person the case is about: code or name
    # Key-case reasons established before routing, e.g. ("repeat",) from classify_link or
    # ("third_repeat_12m",) from is_third_repeat_within_12_months.
    flagged_key: tuple[str, ...] = ()


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

    回避 (SPEC §3; Art. 30: reported material never goes to the accused): the subject unit and
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
    return roots


def _excluded_by(unit: str, roots: dict[str, str], rules: RuleSet) -> str | None:
    """The reason ``unit`` may not handle the case, or None when it may."""
    for root, reason in roots.items():
        if unit == root:
            return reason
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


# -- same matter: normalisation and similarity -------------------------------------------------


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), lower-case, without punctuation, symbols or whitespace.

    Petitions of one matter differ in exactly these ways between channels (a typed web form vs
    an operator's transcript), so they must not count as differences.
    """
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PZCS")


# Formulas that nearly every petition uses (addressees, requests, "I report"): sharing them is
# evidence of nothing, and without removing them two short petitions about different matters
# look alike. Text is split at them so that no bigram bridges a removed formula.
_FORMULAS = re.compile("|".join(sorted((
    "市民来电", "来电反映", "来电人", "市教育局", "县教育局", "教育局", "教育部门", "纪检部门",
    "纪委", "有关部门", "上级部门", "领导", "请求", "要求", "希望", "恳请", "督促", "督办",
    "查处", "调查", "处理", "解决", "整改", "落实", "反映", "举报", "投诉", "严肃", "问题",
    "我们", "我家", "我是", "本人", "请",
), key=len, reverse=True)))  # longest first: 市教育局 before 教育局, 请求 before 请


def _bigrams(text: str) -> set[str]:
    # Chinese has no spaces and most words are two characters, so character bigrams are the
    # cheapest unit that carries meaning (学校, 收费, 补课) without a segmenter.
    grams: set[str] = set()
    for part in _FORMULAS.split(text):
        grams.update(part[i : i + 2] for i in range(len(part) - 1))
        if len(part) == 1:
            grams.add(part)
    return grams


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the character bigrams of the normalised texts, 0.0 … 1.0."""
    x, y = _bigrams(normalise(a)), _bigrams(normalise(b))
    if not x or not y:
        return 0.0  # an empty text is evidence of nothing
    return len(x & y) / len(x | y)


# -- links to earlier cases: repeat, final_repeat, duplicate -----------------------------------

LinkKind = Literal["repeat", "final_repeat", "duplicate"]

# Lifecycle statuses (SPEC §3) in which the handling time limit runs: the case is accepted and
# not yet answered.
HANDLING_STATUSES = frozenset({"accepted", "in_progress", "extended"})
# Still open (not closed) for duplicate linking: from registration until the written answer.
OPEN_STATUSES = frozenset({"registered", "assigned", *HANDLING_STATUSES, "replied"})
FINAL_STATUS = "final"  # 三级终结, after the re-review decision

KEY_REPEAT_COUNT = 3  # this petition is at least the third on the matter …
KEY_REPEAT_MONTHS = 12  # … within twelve months


@dataclass(frozen=True)
class PetitionFacts:
    """The new petition, as routing sees it (no personal data: a pseudonymous key)."""

    case_id: str
    petitioner_key: str | None  # None for anonymous petitions
    channel: str
    jurisdiction: str
    category: str
    text: str  # title and content
    received_at: datetime  # aware


@dataclass(frozen=True)
class EarlierCase:
    case_id: str
    petitioner_key: str | None
    channel: str
    jurisdiction: str
    category: str
    text: str
    received_at: datetime  # aware
    status: str  # lifecycle status as of now
    handling_due: date | None = None  # last day of the handling limit; None: not known yet
    linked_as: LinkKind | None = None  # how this case was itself linked when it arrived


@dataclass(frozen=True)
class Link:
    kind: LinkKind
    case_id: str  # the earlier case the new petition is linked to
    article: str | None  # 《信访工作条例》 article the link implements
    similarity: float | None  # for links that compare texts


def classify_link(new: PetitionFacts, earlier: Sequence[EarlierCase], now: datetime
                  ) -> Link | None:
    """How the new petition relates to the same petitioner's earlier cases, if at all.

    ``now`` is the moment the time limit is judged at; pass the new petition's receipt time
    for a decision that replays identically. Precedence follows legal weight: a final matter
    (Art. 36) before a matter in handling (Art. 19) before a plain duplicate.
    """
    # Anonymous petitions are never linked: nothing shows they come from the same person, and
    # a wrong link would stop a genuine new matter from being accepted.
    if new.petitioner_key is None:
        return None
    today = _local_date(now)
    mine = [
        e for e in earlier
        if e.petitioner_key == new.petitioner_key and e.case_id != new.case_id
        # a duplicate is not a case of its own: link to the case it joined instead
        and e.linked_as != "duplicate"
    ]
    scored = [(e, similarity(new.text, e.text)) for e in mine]

    # Art. 36: after re-review (三级终结) the same facts and reasons are not accepted again.
    finals = [(e, s) for e, s in scored if e.status == FINAL_STATUS and s >= DUPLICATE_THRESHOLD]
    if finals:
        e, s = _best(finals)
        return Link("final_repeat", e.case_id, "Art. 36", round(s, 4))

    # Art. 19: a matter already accepted and within its time limit is not accepted again; the
    # same petitioner, category and jurisdiction stand for "the same matter" (texts of a repeat
    # often differ: "why is there still no answer?").
    repeats = [
        e for e in mine
        if e.status in HANDLING_STATUSES
        and e.category == new.category and e.jurisdiction == new.jurisdiction
        and (e.handling_due is None or today <= e.handling_due)
    ]
    if repeats:
        first = min(repeats, key=lambda e: e.received_at)  # link to the original matter
        return Link("repeat", first.case_id, "Art. 19", None)

    # SPEC §3: the same matter through another channel while the first case is still open is
    # a duplicate: linked to the open case, not counted as a new one.
    duplicates = [
        (e, s) for e, s in scored
        if e.status in OPEN_STATUSES and e.channel != new.channel and s >= DUPLICATE_THRESHOLD
    ]
    if duplicates:
        e, s = _best(duplicates)
        return Link("duplicate", e.case_id, None, round(s, 4))
    return None


def is_third_repeat_within_12_months(new: PetitionFacts, earlier: Sequence[EarlierCase]) -> bool:
    """Key-case status: the petitioner raises the matter for at least the third time in twelve
    months (counting this petition), whatever happened to the earlier ones.

    The window ends at the new petition's receipt, so replaying events gives the same answer.
    "The matter" is the same category and jurisdiction, or a similar text; duplicates (one
    matter sent through several channels at once) count once, as their case.
    """
    if new.petitioner_key is None:
        return False
    received = _local_date(new.received_at)
    # Counted like the statutory limits (SPEC §4): from the day after the same date a year ago.
    start = _months_before(received, KEY_REPEAT_MONTHS)
    count = 1 + sum(
        1 for e in earlier
        if e.petitioner_key == new.petitioner_key and e.case_id != new.case_id
        and e.linked_as != "duplicate"
        and start < _local_date(e.received_at) <= received
        and (
            (e.category == new.category and e.jurisdiction == new.jurisdiction)
            or similarity(new.text, e.text) >= DUPLICATE_THRESHOLD
        )
    )
    return count >= KEY_REPEAT_COUNT


def _best(candidates: list[tuple[EarlierCase, float]]) -> tuple[EarlierCase, float]:
    """Most similar first; among equals the earliest, which is the original matter."""
    return min(candidates, key=lambda es: (-es[1], es[0].received_at))


def _local_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        raise ValueError("times must carry an offset (SPEC §6)")
    return moment.astimezone(SHANGHAI).date()


def _months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier, clamped to the month's end (29 Feb → 28 Feb)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))
