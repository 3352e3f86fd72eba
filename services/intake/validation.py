"""Validation of a case submission (docs/domain.md §6 ``POST /v1/cases``) and of one import row.

Pure: no I/O. Written by hand rather than as a pydantic model because every error must name
its field by the API's dotted path (``petitioner.id_number``) and say why in plain English, and
every error is collected in one pass: a clerk fixing a rejected import row wants the whole list.

Messages never echo a personal value (name, resident ID, phone, address): import errors are
stored and shown to operators and may reach logs, and identity is confidential (docs/domain.md §3
保密).

Here: the submission's model (NewCase) and its sections' rules. The value rules (resident IDs,
phones, date-times) are in normalise, the reading of one field and FieldError in fields, a group
visit's representatives in representatives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.intake.fields import (
    FieldError,
    FieldErrors,
    field_label,
    json_kind,
    text_field,
    unknown_fields,
)
from services.intake.normalise import (
    normalise_phone,
    normalise_resident_id,
    out_of_range,
    parse_rfc3339,
)
from shared.domain.scrub import mask_personal_data
from shared.domain.timeliness import HANDOFF_CHANNELS, is_handoff
from shared.domain.vocab import Terms, Vocabulary
from shared.platform.boundary import EARLIEST_DAY

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_SIGNERS = 100_000  # far above any real joint letter; keeps the value in a 4-byte column
MAX_REF = 100  # 交办文号 such as 赣信转〔2026〕123号

TOP_FIELDS = frozenset(
    {"channel", "external_id", "received_at", "jurisdiction", "category", "title", "content",
     "petitioner", "signers", "subject", "assigned_by", "assigned_ref", "representatives"}
)
PETITIONER_FIELDS = frozenset({"name", "id_number", "phone", "address", "anonymous"})
SUBJECT_FIELDS = frozenset({"unit", "person"})

# CSV column → path in the JSON body, so a row is checked by exactly the same rules and its
# errors carry the same field names as the API's.
ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    **{c: (c,) for c in ("channel", "external_id", "received_at", "jurisdiction", "category",
                         "title", "content", "signers", "assigned_by", "assigned_ref")},
    **{f"petitioner_{f}": ("petitioner", f) for f in ("name", "id_number", "phone", "address")},
    "anonymous": ("petitioner", "anonymous"),
    **{f"subject_{f}": ("subject", f) for f in ("unit", "person")},
}
_TRUE = frozenset({"true", "1", "yes", "y", "是"})
_FALSE = frozenset({"false", "0", "no", "n", "否"})


class SubmissionInvalid(ValueError):
    """The submission breaks one or more rules; ``errors`` lists every one (HTTP 422)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


# Personal fields are kept out of repr so that logging a NewCase by mistake leaks nothing.
@dataclass(frozen=True)
class Petitioner:
    name: str | None = field(default=None, repr=False)
    id_number: str | None = field(default=None, repr=False)  # 18 chars, upper-case X
    phone: str | None = field(default=None, repr=False)  # digits; landline extension after "-"
    address: str | None = field(default=None, repr=False)
    anonymous: bool = False


@dataclass(frozen=True)
class Representative:
    """One of a group visit's representatives (services/intake/representatives.py)."""

    name: str | None = field(default=None, repr=False)
    id_number: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Subject:
    unit: str | None = None
    person: str | None = None


@dataclass(frozen=True)
class NewCase:
    channel: str  # vocabulary codes, never labels
    jurisdiction: str
    category: str
    title: str
    content: str = field(repr=False)  # long, and may describe people
    received_at: datetime  # aware
    petitioner: Petitioner
    external_id: str | None = None
    signers: int = 1
    subject: Subject = Subject()
    assigned_by: str | None = None
    assigned_ref: str | None = None  # the assigning body's reference number (交办文号)
    representatives: tuple[Representative, ...] = ()  # a group visit's (Art. 20)


# --- the submission ---------------------------------------------------------------------


class _Errors(FieldErrors):
    """One submission's errors, and the oldest receipt date it may have."""

    def __init__(self, earliest: date) -> None:
        super().__init__()
        self.earliest = earliest  # the oldest receipt date accepted


def validate_submission(raw: object, *, now: datetime, vocab: Vocabulary,
                        earliest: date = EARLIEST_DAY) -> NewCase:
    """The case of a ``POST /v1/cases`` body (or one JSON Lines import line)."""
    return _finish(raw, now, vocab, _Errors(earliest))


def validate_row(row: Mapping[str, str | None], *, now: datetime, vocab: Vocabulary,
                 earliest: date = EARLIEST_DAY) -> NewCase:
    """The case of one CSV import row (columns as in ``ROW_COLUMNS``, and a group visit's
    representatives' numbered columns: ``representatives.csv_column``; empty cell = absent)."""
    from services.intake import representatives as reps  # it needs Representative, here
    errors = _Errors(earliest)
    body: dict[str, Any] = {"petitioner": {}}  # a row always describes its petitioner
    people: dict[tuple[int, str], str] = {}  # (representative's number, field) → cell
    for column, cell in row.items():
        if column is None:  # csv.DictReader's restkey: more cells than header columns
            errors.append(FieldError("row", "row has more values than the header has columns"))
            continue
        name = column.strip().lstrip("\ufeff")
        blank = cell is None or not cell.strip()
        if (person := reps.csv_column(name)) is not None:
            if cell is not None and not blank:
                people[person] = cell
            continue
        path = ROW_COLUMNS.get(name)
        if path is None and not name and blank:
            continue  # a trailing separator in the header, as spreadsheets write
        if path is None:
            errors.append(FieldError(field_label(name), f"unknown column {name[:64]!r}"
                                     + reps.unknown_column_hint(name)))
            continue
        if cell is None or blank:
            continue
        dotted, value = ".".join(path), cell.strip()
        converted: object = value
        # Only two columns are not text; convert them so the shared rules see JSON types.
        if name == "anonymous":
            # An unreadable flag counts as anonymous so the name rule does not pile on.
            converted = value.lower() not in _FALSE
            if value.lower() not in _TRUE | _FALSE:
                errors.bad(dotted, "must be true or false (or 是/否)")
        elif name == "signers":
            if not value.isdecimal():
                errors.bad(dotted, "must be a whole number")
                continue
            converted = int(value)
        target = body
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = converted
    # Checked as the API's list, by the same rules; an error about one person then names the
    # column the clerk filled.
    group = reps.from_cells(people) if people else None
    if group is not None:
        body["representatives"] = group.people
    try:
        return _finish(body, now, vocab, errors)
    except SubmissionInvalid as exc:
        raise SubmissionInvalid(reps.column_errors(exc.errors, group)) from None


def _finish(raw: object, now: datetime, vocab: Vocabulary, errors: _Errors) -> NewCase:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")  # a programming error, not the client's
    case = _check(raw, now, vocab, errors)
    if errors or case is None:
        raise SubmissionInvalid(list(errors))
    return case


def _check(raw: object, now: datetime, vocab: Vocabulary, errors: _Errors) -> NewCase | None:
    if not isinstance(raw, Mapping):
        errors.append(FieldError("body", f"the body must be a JSON object, not {json_kind(raw)}"))
        return None
    unknown_fields(raw, TOP_FIELDS, "", errors)
    channel = _term(raw, "channel", vocab.channels, errors)
    jurisdiction = _term(raw, "jurisdiction", vocab.jurisdictions, errors)
    category = _term(raw, "category", vocab.categories, errors)
    title = text_field(raw, "title", errors, required=True, max_len=200)
    content = text_field(raw, "content", errors, required=True, max_len=20_000)
    external_id = text_field(raw, "external_id", errors, max_len=100)
    assigned_by = text_field(raw, "assigned_by", errors, max_len=200)
    assigned_ref = _assigned_ref(raw, channel, errors)
    received_at = _received_at(raw.get("received_at"), now, errors)
    signers = _signers(raw.get("signers"), errors)
    petitioner = _petitioner(raw.get("petitioner"), now, errors)
    from services.intake import representatives as reps  # it needs Representative, here
    representatives = reps.check(raw, channel, signers, now, errors)
    subject = Subject()
    sub = raw.get("subject")
    if sub is not None and not isinstance(sub, Mapping):
        errors.bad("subject", f"must be an object, not {json_kind(sub)}")
    elif sub is not None:
        unknown_fields(sub, SUBJECT_FIELDS, "subject.", errors)
        subject = Subject(
            unit=text_field(sub, "unit", errors, max_len=200, prefix="subject."),
            person=text_field(sub, "person", errors, max_len=100, prefix="subject."),
        )
    if (
        errors or channel is None or jurisdiction is None or category is None
        or title is None or content is None or petitioner is None
    ):
        return None
    return NewCase(
        channel=channel, jurisdiction=jurisdiction, category=category, title=title,
        content=content, received_at=received_at, petitioner=petitioner,
        external_id=external_id, signers=signers, subject=subject, assigned_by=assigned_by,
        assigned_ref=assigned_ref, representatives=representatives,
    )


def _assigned_ref(raw: Mapping[str, Any], channel: str | None, errors: _Errors) -> str | None:
    """The assigning body's reference number: only on a handed-off case, and an official
    document number, never a place for someone's resident ID or phone (it travels in events)."""
    ref = text_field(raw, "assigned_ref", errors, max_len=MAX_REF)
    if ref is None:
        return None
    if channel is not None and not is_handoff(channel):
        errors.bad("assigned_ref", "applies only to cases handed over through "
                   + ", ".join(sorted(HANDOFF_CHANNELS)))
        return None
    if mask_personal_data(ref).changed:
        errors.bad("assigned_ref", "must be the assigning body's reference number; it must "
                   "not contain a resident ID or a phone number")
        return None
    return ref


def _petitioner(value: object, now: datetime, errors: _Errors) -> Petitioner | None:
    if value is None:
        errors.bad("petitioner", 'is required (send {"anonymous": true} if anonymous)')
        return None
    if not isinstance(value, Mapping):
        errors.bad("petitioner", f"must be an object, not {json_kind(value)}")
        return None
    unknown_fields(value, PETITIONER_FIELDS, "petitioner.", errors)
    p = "petitioner."
    before = len(errors)
    name = text_field(value, "name", errors, max_len=100, prefix=p)
    name_broken = len(errors) > before
    address = text_field(value, "address", errors, max_len=500, prefix=p)
    today = now.astimezone(SHANGHAI).date()  # birth dates are Chinese calendar dates
    id_number = _checked(value, "id_number", errors,
                         lambda s: normalise_resident_id(s, today=today))
    phone = _checked(value, "phone", errors, normalise_phone)
    anonymous = value.get("anonymous")
    if anonymous is None:
        anonymous = False
    elif not isinstance(anonymous, bool):
        errors.bad("petitioner.anonymous", f"must be true or false, not {json_kind(anonymous)}")
        # Whether a name is needed is unknowable now; one error about the flag is enough.
        anonymous, name_broken = True, True
    if not anonymous and name is None and not name_broken:
        errors.bad("petitioner.name", "is required unless petitioner.anonymous is true")
    return Petitioner(name=name, id_number=id_number, phone=phone, address=address,
                      anonymous=anonymous)


def _checked(
    obj: Mapping[str, Any], key: str, errors: _Errors, check: Callable[[str], str]
) -> str | None:
    text = text_field(obj, key, errors, max_len=100, prefix="petitioner.")
    if text is None:
        return None
    try:
        return check(text)
    except ValueError as exc:
        errors.bad(f"petitioner.{key}", str(exc))
        return None


def _received_at(value: object, now: datetime, errors: _Errors) -> datetime:
    if value is None:
        return now
    if not isinstance(value, str):
        errors.bad("received_at", f"must be a string, not {json_kind(value)}")
        return now
    try:
        when = parse_rfc3339(value)
    except ValueError as exc:
        errors.bad("received_at", str(exc))
        return now
    why = out_of_range(when, earliest=errors.earliest, now=now)
    if why:
        errors.bad("received_at", why)
        return now
    return when


def _signers(value: object, errors: _Errors) -> int:
    if value is None:
        return 1  # one petitioner; five or more makes a collective petition (docs/domain.md §3)
    if isinstance(value, bool) or not isinstance(value, int):
        errors.bad("signers", f"must be a whole number, not {json_kind(value)}")
    elif value < 1:
        errors.bad("signers", "must be at least 1")
    elif value > MAX_SIGNERS:
        errors.bad("signers", f"must be at most {MAX_SIGNERS}")
    else:
        return value
    return 1


def _term(raw: Mapping[str, Any], key: str, terms: Terms, errors: _Errors) -> str | None:
    text = text_field(raw, key, errors, required=True, max_len=100)
    code = None if text is None else terms.resolve(text)
    if text is not None and code is None:
        errors.bad(key, f"{text!r} is unknown; use one of {', '.join(terms.codes)} "
                        "or its Chinese name")
    return code
