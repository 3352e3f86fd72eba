"""Finding the same matter twice without carrying its text: keyed bottom-k sketches.

Intake turns a case's normalised content into the ``k`` smallest keyed 64-bit hashes of its
character bigrams (a bottom-k MinHash sketch); only that goes on the wire. Routing estimates
the Jaccard similarity of two cases' bigram sets from their sketches. The key keeps a sketch
from being matched against guessed texts by anyone who reads the topic.

Normalisation lives here, not in routing, because the sketch is computed by intake and
compared by routing: both sides must mean the same thing by "the same text".
"""

from __future__ import annotations

import hashlib
import heapq
import re
import unicodedata

SKETCH_SIZE = 64

# Formulas that nearly every petition uses (addressees, requests, "I report"): sharing them is
# evidence of nothing, and without removing them two short petitions about different matters
# look alike. The text is cut at them so that no bigram bridges a removed formula.
STOP_PHRASES: tuple[str, ...] = tuple(sorted((
    "市民来电", "来电反映", "来电人", "市教育局", "县教育局", "教育局", "教育部门", "纪检部门",
    "纪委", "有关部门", "上级部门", "领导", "请求", "要求", "希望", "恳请", "督促", "督办",
    "查处", "调查", "处理", "解决", "整改", "落实", "反映", "举报", "投诉", "严肃", "问题",
    "我们", "我家", "我是", "本人", "请",
), key=len, reverse=True))  # longest first: 市教育局 before 教育局, 请求 before 请
_STOP = re.compile("|".join(map(re.escape, STOP_PHRASES)))


def fold(text: str) -> str:
    """NFKC (full-width → half-width), lower case, without punctuation, symbols, whitespace
    or control characters: petitions of one matter differ in exactly these ways between
    channels (a typed web form vs an operator's transcript)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PZCS")


def normalise(text: str) -> str:
    """The folded text with every stop-phrase cut out; a single space marks each cut, so the
    result is the text's meaningful runs separated by spaces (no other spaces survive
    :func:`fold`)."""
    return " ".join(part for part in _STOP.split(fold(text)) if part)


def bigrams(text: str) -> set[str]:
    """Character bigrams of each run of the normalised text (a one-character run counts as
    itself). Chinese has no spaces and most words are two characters, so bigrams are the
    cheapest unit that carries meaning (学校, 收费, 补课) without a segmenter."""
    grams: set[str] = set()
    for part in normalise(text).split(" "):
        if len(part) == 1:
            grams.add(part)
        grams.update(part[i:i + 2] for i in range(len(part) - 1))
    return grams


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard similarity of two texts' bigram sets (what a sketch estimates)."""
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0  # an empty text is evidence of nothing
    return len(x & y) / len(x | y)


def sketch(text: str, key: bytes, size: int = SKETCH_SIZE) -> list[int]:
    """The ``size`` smallest keyed hashes of the text's bigrams, ascending."""
    hashes = {
        # 63 bits, so the values fit PostgreSQL's bigint and JSON numbers comfortably.
        int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8, key=key).digest(), "big")
        >> 1
        for g in bigrams(text)
    }
    return heapq.nsmallest(size, hashes)


def estimated_jaccard(a: list[int], b: list[int], size: int = SKETCH_SIZE) -> float:
    """Bottom-k estimate of |A∩B| / |A∪B| from two sketches.

    Exact when both texts have at most ``size`` distinct bigrams (the sketch is then the whole
    set); otherwise an unbiased estimate from the ``size`` smallest hashes of the union.
    """
    if not a or not b:
        return 0.0
    sa, sb = set(a), set(b)
    union_bottom = heapq.nsmallest(size, sa | sb)
    if not union_bottom:
        return 0.0
    both = sum(1 for h in union_bottom if h in sa and h in sb)
    return both / len(union_bottom)
