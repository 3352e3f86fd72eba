"""The value rules intake applies wherever a person or a moment is typed in: resident IDs
(GB 11643-1999), phone numbers, RFC 3339 date-times and the range a moment may lie in, and the
folding of Unicode digits they all start with.

Pure: no I/O. Each check returns the normalised value or raises ValueError(reason); the reason
never echoes the value (it is personal data, and errors are stored and shown to operators).
Submissions (validation), representatives, lifecycle actions, encryption keys and the
similarity search share them, so one value means one thing everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

# Submitting systems' clocks drift; a few minutes ahead is not "in the future".
CLOCK_SKEW = timedelta(minutes=5)

_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK = "10X98765432"
_ID_FORMAT = re.compile(r"\d{17}[\dX]", re.ASCII)


def fold_digits(value: str) -> str:
    """NFKC, then every other decimal digit (Arabic-Indic, Devanagari ...) as its ASCII digit:
    a full-width ``３６０８０２…`` is the same resident ID, and must give the same petitioner
    key, as ``360802…``."""
    text = unicodedata.normalize("NFKC", value)
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch
                   for ch in text)


def resident_id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character (ISO 7064 MOD 11-2) for the first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def normalise_resident_id(value: str, *, today: date) -> str:
    """An 18-character resident ID, upper-case X, with a real birth date and check digit."""
    ident = re.sub(r"\s+", "", fold_digits(value)).upper()
    if not _ID_FORMAT.fullmatch(ident):
        raise ValueError("must be 18 characters: 17 digits then a digit or X")
    try:
        born = date(int(ident[6:10]), int(ident[10:12]), int(ident[12:14]))
    except ValueError:
        raise ValueError("has an impossible birth date in characters 7-14 (YYYYMMDD)") from None
    if born > today:
        raise ValueError("has a birth date in the future")
    if born.year < 1900:
        raise ValueError("has a birth date before 1900")
    if resident_id_check_digit(ident[:17]) != ident[17]:
        raise ValueError("has a wrong check digit (GB 11643-1999); look for a mistyped digit")
    return ident


_MOBILE = re.compile(r"(?:\+?86)?(1[3-9]\d{9})", re.ASCII)
# Area codes: 010 and 02x have three digits, every other (03xx-09xx) four; then the number.
_LANDLINE = re.compile(
    r"\(?(0(?:10|2\d|[3-9]\d\d))\)?-?(\d{7,8})(?:(?:-|转|#|ext\.?|x)(\d{1,6}))?",
    re.IGNORECASE | re.ASCII,
)


def normalise_phone(value: str) -> str:
    """Mobile → its 11 digits; landline → area code and number as digits, ``-ext`` if any."""
    compact = re.sub(r"\s+", "", fold_digits(value))
    mobile = _MOBILE.fullmatch(compact.replace("-", ""))
    if mobile:
        return mobile[1]
    # Dashes where people usually put them (0796-8123456-801) separate the extension; dashes
    # inside the number (0796-812-3456) do not, so try once more without them.
    line = _LANDLINE.fullmatch(compact) or _LANDLINE.fullmatch(compact.replace("-", ""))
    if line is None:
        raise ValueError(
            "must be a mainland mobile number (11 digits starting 13-19, +86 optional) "
            "or a landline with its area code, e.g. 0796-8123456"
        )
    return line[1] + line[2] + (f"-{line[3]}" if line[3] else "")


_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?",
    re.ASCII,
)


def parse_rfc3339(value: str) -> datetime:
    """An aware datetime from RFC 3339 text; a local time without an offset is refused."""
    text = value.strip()
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError("must be an RFC 3339 date-time such as 2024-03-01T09:30:00+08:00")
    if match["offset"] is None:
        raise ValueError("must include a UTC offset (Z or +08:00): a bare local time is ambiguous")
    try:
        return datetime.fromisoformat(text.upper().replace(" ", "T"))
    except ValueError as exc:
        raise ValueError(f"is not a real date-time ({exc})") from None


def out_of_range(when: datetime, *, earliest: date, now: datetime) -> str | None:
    """Why an aware moment lies outside [earliest day, now + clock skew], or None.

    The dates are compared as written first: moving ``0001-01-01T00:00:00+08:00`` or
    ``9999-12-31T23:59:59-08:00`` to UTC, as comparing aware datetimes does, overflows.
    """
    if when.date() < earliest:
        return f"must not be before {earliest.isoformat()}"
    if when.date() > now.date() + timedelta(days=2) or when > now + CLOCK_SKEW:
        return "must not be in the future"
    return None
