"""Finding the same matter twice without carrying its text: keyed bottom-k sketches.

Intake turns a case's normalised content into the ``k`` smallest keyed 64-bit hashes of its
character bigrams (a bottom-k MinHash sketch); only that goes on the wire. Routing estimates
the Jaccard similarity of two cases' bigram sets from their sketches. The key keeps a sketch
from being matched against guessed texts by anyone who reads the topic.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import unicodedata

SKETCH_SIZE = 64
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), lower case, without whitespace and punctuation."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text).lower())


def bigrams(text: str) -> set[str]:
    norm = normalise(text)
    if len(norm) < 2:
        return {norm} if norm else set()
    return {norm[i:i + 2] for i in range(len(norm) - 1)}


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
    """Bottom-k estimate of |A∩B| / |A∪B| from two sketches."""
    if not a or not b:
        return 0.0
    sa, sb = set(a), set(b)
    union_bottom = heapq.nsmallest(size, sa | sb)
    if not union_bottom:
        return 0.0
    both = sum(1 for h in union_bottom if h in sa and h in sb)
    return both / len(union_bottom)
