"""The payload side of every event: a frozen base model and the registry of which model reads
which (type, version). Pure: the envelope and its wire codec live in the platform
(``shared.platform.events``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

M = TypeVar("M", bound=BaseModel)


class EventData(BaseModel):
    """Base of every event payload. Fields a reader does not know are ignored, so a producer
    one minor version ahead (an added optional field) is read as before."""

    model_config = ConfigDict(frozen=True, extra="ignore")


_REGISTRY: dict[tuple[str, int], type[EventData]] = {}
_LATEST: dict[type[EventData], tuple[str, int]] = {}


def register(event_type: str, version: int) -> Callable[[type[M]], type[M]]:
    """Class decorator: the payload model of ``event_type`` at ``version``."""

    def wrap(model: type[M]) -> type[M]:
        assert issubclass(model, EventData)
        _REGISTRY[(event_type, version)] = model
        _LATEST[model] = (event_type, version)
        return model

    return wrap


def model_for(event_type: str, version: int) -> type[EventData] | None:
    return _REGISTRY.get((event_type, version))


def registered() -> dict[tuple[str, int], type[EventData]]:
    """Every (type, version) and its model."""
    return dict(_REGISTRY)


def known_type(event_type: str) -> bool:
    return any(t == event_type for t, _ in _REGISTRY)


def type_and_version(model: type[EventData]) -> tuple[str, int]:
    """The (type, version) ``model`` is registered under."""
    return _LATEST[model]


def type_of(model: type[EventData]) -> str:
    return _LATEST[model][0]
