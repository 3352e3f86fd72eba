"""Masking personal data typed into free text (a case's title or content).

Petitioners often write their resident ID or mobile number into the letter itself. Those stay
out of what handling units read and out of everything derived from the text: the masked text
replaces them with a marker, and the original is kept (encrypted, by intake) for staff.

Matching runs on a copy whose digits are folded one character at a time (full-width ``１``,
Arabic-Indic ``١`` → ``1``), so positions line up with the original and everything else the
petitioner typed (full-width punctuation included) is kept exactly.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

RESIDENT_ID_MARK = "[身份证号已隐去]"
MOBILE_MARK = "[手机号已隐去]"
_SEP = r"[ \-]?"
# 18 characters (17 digits, then a digit or X), optionally grouped 6-8-4 as people write it.
_RESIDENT_ID = re.compile(
    rf"(?<![0-9A-Za-z])\d{{6}}{_SEP}\d{{8}}{_SEP}\d{{3}}[\dXx](?![0-9A-Za-z])", re.ASCII)
# A mainland mobile: 1[3-9] and nine more digits, +86 optional, grouped 3-4-4 or not.
_MOBILE = re.compile(rf"(?<![0-9+])(?:\+?86{_SEP})?1[3-9]\d(?:{_SEP}\d{{4}}){{2}}(?![0-9])",
                     re.ASCII)
_FOLD = {"Ｘ": "X", "ｘ": "x", "＋": "+", "－": "-", "\u3000": " "}


@dataclass(frozen=True)
class Masked:
    text: str
    resident_ids: int = 0
    mobiles: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.resident_ids or self.mobiles)


def _fold(text: str) -> str:
    """Same length as ``text``: each decimal digit as ASCII, a few full-width signs too."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii()
                   else _FOLD.get(ch, ch) for ch in text)


def mask_personal_data(text: str) -> Masked:
    """``text`` with every resident ID and mobile number replaced by a marker."""
    folded = _fold(text)
    spans: list[tuple[int, int, str]] = [(m.start(), m.end(), RESIDENT_ID_MARK)
                                         for m in _RESIDENT_ID.finditer(folded)]
    taken = [(a, b) for a, b, _ in spans]
    for m in _MOBILE.finditer(folded):
        if not any(a < m.end() and m.start() < b for a, b in taken):
            spans.append((m.start(), m.end(), MOBILE_MARK))
    if not spans:
        return Masked(text)
    out, last = [], 0
    for start, end, mark in sorted(spans):
        out.append(text[last:start] + mark)
        last = end
    out.append(text[last:])
    ids = sum(1 for *_, mark in spans if mark == RESIDENT_ID_MARK)
    return Masked("".join(out), resident_ids=ids, mobiles=len(spans) - ids)
