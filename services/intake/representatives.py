"""A group visit's representatives (Art. 20: 多人采用走访形式提出同一信访事项的，应当推选代表，
代表人数不超过5人).

``representatives`` on ``POST /v1/cases`` is a list of at most five
``{name, id_number?, phone?}``: only on a visit, and never more people than the group's head
count (``signers``). Their names, resident IDs and phones are personal data like the
petitioner's: validated by the same rules, encrypted together in intake's database, counted
(never named) on topics.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.intake import validation as v
from services.intake.fields import FieldErrors, json_kind, text_field, unknown_fields
from services.intake.normalise import normalise_phone, normalise_resident_id

MAX_REPRESENTATIVES = 5  # Art. 20
FIELDS = frozenset({"name", "id_number", "phone"})
VISIT = "visit"


def check(raw: Mapping[str, Any], channel: str | None, signers: int, now: datetime,
          errors: FieldErrors) -> tuple[v.Representative, ...]:
    value = raw.get("representatives")
    if value is None:
        return ()
    if not isinstance(value, list):
        errors.bad("representatives", f"must be a list, not {json_kind(value)}")
        return ()
    if channel is not None and channel != VISIT:
        errors.bad("representatives", "apply only to a visit (channel visit, Art. 20)")
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
