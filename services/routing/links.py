"""Pure link decisions: is a new petition a repeat, a final repeat or a duplicate of the same
petitioner's earlier cases, and is it the third time within twelve months (a key case)?

Events carry no text, only a keyed bottom-k sketch of the case's title and content
(:mod:`shared.domain.similarity`), so "the same matter" is judged on estimated Jaccard similarity.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from shared.domain.limits import SHANGHAI
from shared.domain.similarity import estimated_jaccard

# Measured on sketches of the labelled pairs in tests/unit/test_routing_links.py, each pair
# sketched under 100 different keys (the key changes which bigrams a 64-hash sketch samples):
#   different matter, same category (13 pairs, 1,300 comparisons): exact Jaccard 0.03 … 0.23,
#       sketch estimates 0.00 … 0.23. The highest are the hard cases: the same principal or
#       teacher accused of something else; their texts are short, so their sketches are exact.
#   same matter (10 pairs, 1,000 comparisons): exact 0.29 … 1.00, estimates 0.23 … 1.00: long
#       texts (over 64 distinct bigrams) are sampled, and one rephrased pair dips to 0.23.
# At 0.25 no different-matter comparison is linked and 2 of 1,000 same-matter comparisons are
# missed (0.26, the text-based figure, would miss 9). Errors cost unequally: a wrong duplicate
# folds a new matter into another case and hides it from the counts; a missed one costs a
# second registration (and once the first case is accepted, Art. 19 still links it as a repeat
# without comparing texts). So the threshold stays above every negative.
DUPLICATE_THRESHOLD = 0.25

LinkKind = Literal["repeat", "final_repeat", "duplicate"]

# Lifecycle statuses (docs/domain.md §3) in which the handling time limit runs: accepted, not
# answered.
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
    signature: tuple[int, ...]  # sketch of title and content
    received_at: datetime  # aware


@dataclass(frozen=True)
class EarlierCase:
    case_id: str
    petitioner_key: str | None
    channel: str
    jurisdiction: str
    category: str
    signature: tuple[int, ...]
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


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    return estimated_jaccard(list(a), list(b))


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
        # a linked petition is not a case of its own (it follows the case it joined, and its
        # own status never moves): link to that case instead
        and e.linked_as is None
    ]
    scored = [(e, similarity(new.signature, e.signature)) for e in mine]

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

    # docs/domain.md §3: the same matter through another channel while the first case is still open
    # is
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
    # Counted like the statutory limits (docs/domain.md §4): from the day after the same date a
    # year ago.
    start = _months_before(received, KEY_REPEAT_MONTHS)
    count = 1 + sum(
        1 for e in earlier
        if e.petitioner_key == new.petitioner_key and e.case_id != new.case_id
        and e.linked_as != "duplicate"
        and start < _local_date(e.received_at) <= received
        and (
            (e.category == new.category and e.jurisdiction == new.jurisdiction)
            or similarity(new.signature, e.signature) >= DUPLICATE_THRESHOLD
        )
    )
    return count >= KEY_REPEAT_COUNT


def _best(candidates: list[tuple[EarlierCase, float]]) -> tuple[EarlierCase, float]:
    """Most similar first; among equals the earliest, which is the original matter."""
    return min(candidates, key=lambda es: (-es[1], es[0].received_at))


def _local_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        raise ValueError("times must carry an offset (docs/domain.md §6)")
    return moment.astimezone(SHANGHAI).date()


def _months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier, clamped to the month's end (29 Feb → 28 Feb)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))
