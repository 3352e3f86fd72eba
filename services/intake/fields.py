"""Reading the fields of a submitted JSON object, one rule after another, collecting every
error in one pass, each naming its field by the API's dotted path (``petitioner.id_number``)
and saying why in plain English.

The building blocks of validation (the submission) and representatives (a group visit's
people): a string field, unknown fields, and how a client's field name and a JSON value's type
read in a message. Messages never echo a personal value. FieldError is also the shape of the
other 422 errors intake answers with (lifecycle actions, self-service, imports).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str  # dotted path in the JSON body, e.g. "petitioner.id_number"; "body" for the whole
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class FieldErrors(list[FieldError]):
    """The errors found so far in one pass over a submission."""

    def bad(self, path: str, why: str) -> None:
        """Record that ``path`` breaks a rule; the message reads "<path> <why>"."""
        self.append(FieldError(path, f"{path} {why}"))


def text_field(
    raw: Mapping[str, Any], key: str, errors: FieldErrors,
    *, required: bool = False, max_len: int, prefix: str = "",
) -> str | None:
    """A stripped, NFC-normalised string; None when absent (an error if required)."""
    path, value = prefix + key, raw.get(key)
    if value is not None and not isinstance(value, str):
        errors.bad(path, f"must be a string, not {json_kind(value)}")
        return None
    text = unicodedata.normalize("NFC", value).strip() if value else ""
    if not text:
        if required:
            errors.bad(path, "is required and must not be blank")
        return None
    if "\x00" in text:  # PostgreSQL text cannot hold NUL
        errors.bad(path, "must not contain NUL characters")
    elif len(text) > max_len:
        errors.bad(path, f"must be at most {max_len} characters, got {len(text)}")
    else:
        return text
    return None


def unknown_fields(
    obj: Mapping[str, Any], allowed: frozenset[str], prefix: str, errors: FieldErrors
) -> None:
    for key in obj:
        if key not in allowed:
            errors.bad(f"{prefix}{field_label(key)}",
                       f"is not a known field; allowed: {', '.join(sorted(allowed))}")


def field_label(name: str) -> str:
    """A client's field name as an error shows it: a hostile one may be empty, unprintable
    (a NUL cannot even be stored) or huge, so those are quoted, escaped and cut short."""
    if name and name.isprintable() and len(name) <= 64:
        return name
    return repr(name[:64]) + ("..." if len(name) > 64 else "")


_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"), (int, "a number"), (float, "a decimal number"), (str, "a string"),
    (list, "an array"), (Mapping, "an object"),
)


def json_kind(value: object) -> str:
    """How a JSON value's type reads in an error message (bool before int: it is one)."""
    if value is None:
        return "null"
    return next((name for t, name in _KINDS if isinstance(value, t)), type(value).__name__)
