"""A valid sample payload of any event model, for tests that must cover every event type."""

from __future__ import annotations

import types
import typing
import uuid
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from shared.domain.event_types import EventData


def sample(model: type[EventData]) -> EventData:
    """``model`` with a plain value in every required field (defaults kept)."""
    return model(**{name: _value(field.annotation) for name, field in model.model_fields.items()
                    if field.is_required()})


def _value(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        origin = typing.get_origin(annotation)
    if origin is list:
        return []
    if annotation is datetime:
        return datetime.now(UTC)
    if annotation is date:
        return date.today()
    if annotation is bool:
        return False
    if annotation is int:
        return 1
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return next(iter(annotation))
    if annotation is str:
        return f"sample-{uuid.uuid4().hex[:8]}"
    raise TypeError(f"no sample value for {annotation!r}")
