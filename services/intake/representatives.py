"""A group visit's representatives (Art. 20: 多人采用走访形式提出同一信访事项的，应当推选代表，
代表人数不超过5人).

``representatives`` on ``POST /v1/cases`` (and on a JSON Lines import line) is a list of at
most five ``{name, id_number?, phone?}``: only on a visit, or on a case another body hands over
(``provincial_transfer``, ``city_transfer``, ``superior_assigned``: the group visited *that*
body, which transfers the matter with its representatives), and never more people than the
group's head count (``signers``). Their names, resident IDs and phones are personal data like
the petitioner's: validated by the same rules, encrypted together in intake's database, counted
(never named) on topics.

A CSV import row carries them in numbered columns, one value a cell:
``representative_1_name, representative_1_id_number, representative_1_phone`` …
``representative_5_phone`` (any of them may be left out of the header). Chosen over one packed
cell (``姓名|身份证号|电话；…``) because a clerk fills it in a spreadsheet: with a Chinese input
method on, ``|`` and ``;`` come out as ``、``/``｜`` and ``；``; an optional resident ID needs an
empty slot (``张三||138…``) that is easily lost or swapped with the phone; and a name may itself
hold any character. One value a cell needs no separators, can be formatted as text (resident
IDs) or checked column by column in the spreadsheet, and is what another system's export
writes naturally. The cells become the same ``representatives`` list, checked by :func:`check`
(blank representatives skipped, so a deleted one leaves no gap); an error about one person
names that person's column (``representative_2_phone``), not the API's 0-based path
``representatives.1.phone``, which would send a clerk to the wrong person.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.intake import validation as v
from services.intake.fields import (
    FieldError,
    FieldErrors,
    json_kind,
    text_field,
    unknown_fields,
)
from services.intake.normalise import normalise_phone, normalise_resident_id
from shared.domain.timeliness import HANDOFF_CHANNELS

MAX_REPRESENTATIVES = 5  # Art. 20
FIELDS = frozenset({"name", "id_number", "phone"})
VISIT = "visit"
# A visit, or a matter another body hands over (the group may have visited that body).
CHANNELS = frozenset({VISIT, *HANDOFF_CHANNELS})
# A CSV import row's columns for them, in the order a template lists them.
CSV_COLUMNS = tuple(f"representative_{n}_{f}" for n in range(1, MAX_REPRESENTATIVES + 1)
                    for f in ("name", "id_number", "phone"))
_COLUMN = re.compile(r"representative_([1-9]\d{0,2})_(name|id_number|phone)")
_PERSON_PATH = re.compile(r"representatives\.(\d+)(\..*)?")


def check(raw: Mapping[str, Any], channel: str | None, signers: int, now: datetime,
          errors: FieldErrors) -> tuple[v.Representative, ...]:
    value = raw.get("representatives")
    if value is None:
        return ()
    if not isinstance(value, list):
        errors.bad("representatives", f"must be a list, not {json_kind(value)}")
        return ()
    if channel is not None and channel not in CHANNELS:
        errors.bad("representatives", "apply only to a visit (channel visit, Art. 20) or a "
                   "case handed over through " + ", ".join(sorted(HANDOFF_CHANNELS)))
        return ()
    if len(value) > MAX_REPRESENTATIVES:
        errors.bad("representatives", f"must name at most {MAX_REPRESENTATIVES} people "
                   f"(Art. 20), got {len(value)}")
        return ()
    if len(value) > signers:
        errors.bad("representatives", f"cannot be more than the group's head count (signers: "
                   f"{signers})")
        return ()
    today = now.astimezone(v.SHANGHAI).date()
    out = []
    for i, person in enumerate(value):
        prefix = f"representatives.{i}."
        if not isinstance(person, Mapping):
            errors.bad(prefix[:-1], f"must be an object, not {json_kind(person)}")
            continue
        unknown_fields(person, FIELDS, prefix, errors)
        name = text_field(person, "name", errors, required=True, max_len=100, prefix=prefix)
        id_number = _normalised(person, "id_number", prefix, errors,
                                lambda s: normalise_resident_id(s, today=today))
        phone = _normalised(person, "phone", prefix, errors, normalise_phone)
        out.append(v.Representative(name=name, id_number=id_number, phone=phone))
    return tuple(out)


def _normalised(obj: Mapping[str, Any], key: str, prefix: str, errors: FieldErrors,
                normalise: Any) -> str | None:
    text = text_field(obj, key, errors, max_len=100, prefix=prefix)
    if text is None:
        return None
    try:
        return str(normalise(text))
    except ValueError as exc:
        errors.bad(prefix + key, str(exc))  # the reason, never the value
        return None


def as_document(people: tuple[v.Representative, ...]) -> list[dict[str, str | None]]:
    """What is encrypted: one JSON list for the group."""
    return [{"name": p.name, "id_number": p.id_number, "phone": p.phone} for p in people]


# --- a CSV row's columns ------------------------------------------------------------------


def csv_column(name: str) -> tuple[int, str] | None:
    """(number 1–5, field) of a representative's column, e.g. ``representative_2_phone`` →
    (2, "phone"); None for any other column."""
    found = _COLUMN.fullmatch(name)
    if found is None or not 1 <= int(found[1]) <= MAX_REPRESENTATIVES:
        return None
    return int(found[1]), found[2]


def unknown_column_hint(name: str) -> str:
    """What to add to "unknown column" when ``name`` looks like a representative's column."""
    if not name.startswith("representative"):
        return ""
    return (f"; representatives are the columns representative_N_name, representative_N_"
            f"id_number and representative_N_phone with N from 1 to {MAX_REPRESENTATIVES} "
            "(Art. 20)")


@dataclass(frozen=True)
class CsvGroup:
    """A row's representatives as the API's list, and the column number of each entry."""

    people: list[dict[str, str]]
    numbers: list[int]

    def column_error(self, error: FieldError) -> FieldError:
        """``error`` naming the column the clerk filled: ``representatives.1.phone`` is
        ``representative_<its number>_phone``; any other error is left as it is."""
        found = _PERSON_PATH.fullmatch(error.field)
        if found is None or int(found[1]) >= len(self.numbers) or not found[2]:
            return error
        column = f"representative_{self.numbers[int(found[1])]}_{found[2][1:]}"
        message = error.message
        if message.startswith(error.field + " "):
            message = column + message[len(error.field):]
        return FieldError(column, message)


def from_cells(cells: Mapping[tuple[int, str], str]) -> CsvGroup:
    """The representatives of a row's non-blank cells, keyed by (number, field): in number
    order, a representative with no cell filled left out."""
    numbers = sorted({n for n, _ in cells})
    people = [{f: value for (n, f), value in sorted(cells.items()) if n == number}
              for number in numbers]
    return CsvGroup(people, numbers)


def column_errors(errors: Sequence[FieldError], group: CsvGroup | None) -> list[FieldError]:
    return [group.column_error(e) if group else e for e in errors]
