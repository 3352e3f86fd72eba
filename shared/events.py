"""The one event envelope (CloudEvents 1.0, structured JSON mode) and its codec.

Every message on every topic is one envelope. ``dataschema`` carries the event's schema
version (``urn:xinfang:<type>:<version>``); the payload is validated against the typed model
registered for that (type, version) at the edge, so a handler only ever sees typed data.
Schema changes are additive; a breaking change is a new version with an upcaster.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

CONTENT_TYPE = "application/cloudevents+json"
SPEC_VERSION = "1.0"

M = TypeVar("M", bound=BaseModel)


class PoisonMessage(Exception):
    """A message that can never be processed as it is: undecodable or of an unknown schema.

    It goes to the dead-letter topic; retrying would fail the same way forever.
    """


class EventData(BaseModel):
    """Base of every event payload: strict about unknown fields on our side of the wire."""

    model_config = ConfigDict(frozen=True, extra="ignore")


@dataclass(frozen=True)
class Envelope:
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    version: int
    data: EventData

    @property
    def dataschema(self) -> str:
        return schema_urn(self.type, self.version)


def schema_urn(event_type: str, version: int) -> str:
    return f"urn:xinfang:{event_type}:{version}"


_REGISTRY: dict[tuple[str, int], type[EventData]] = {}
_UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}
_LATEST: dict[type[EventData], tuple[str, int]] = {}


def register(event_type: str, version: int) -> Callable[[type[M]], type[M]]:
    """Class decorator: the payload model of ``event_type`` at ``version``."""

    def wrap(model: type[M]) -> type[M]:
        assert issubclass(model, EventData)
        _REGISTRY[(event_type, version)] = model
        _LATEST[model] = (event_type, version)
        return model

    return wrap


def type_of(model: type[EventData]) -> str:
    """The event type ``model`` is registered under (its latest version's)."""
    return _LATEST[model][0]


def new_event_id() -> str:
    return str(uuid.uuid4())


def envelope_for(
    data: EventData, *, subject: str, source: str, time: datetime, event_id: str | None = None
) -> Envelope:
    event_type, version = _LATEST[type(data)]
    return Envelope(
        id=event_id or new_event_id(),
        source=source,
        type=event_type,
        subject=subject,
        time=time,
        version=version,
        data=data,
    )


def encode(envelope: Envelope) -> bytes:
    return orjson.dumps(
        {
            "specversion": SPEC_VERSION,
            "id": envelope.id,
            "source": envelope.source,
            "type": envelope.type,
            "subject": envelope.subject,
            "time": envelope.time.isoformat(),
            "datacontenttype": "application/json",
            "dataschema": envelope.dataschema,
            "data": envelope.data.model_dump(mode="json"),
        }
    )


def decode(raw: bytes | None) -> Envelope:
    """Parse and validate one message value; raise PoisonMessage when it can never be used."""
    if not raw:
        raise PoisonMessage("empty message value")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PoisonMessage(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise PoisonMessage("envelope is not a JSON object")
    missing = [k for k in ("id", "source", "type", "subject", "time", "dataschema") if k not in doc]
    if missing:
        raise PoisonMessage(f"envelope lacks {', '.join(missing)}")
    if doc.get("specversion") != SPEC_VERSION:
        raise PoisonMessage(f"unsupported specversion {doc.get('specversion')!r}")
    event_type = str(doc["type"])
    try:
        version = int(str(doc["dataschema"]).rsplit(":", 1)[1])
        time = datetime.fromisoformat(str(doc["time"]))
    except (IndexError, ValueError) as exc:
        raise PoisonMessage(f"bad dataschema or time: {exc}") from exc
    data = doc.get("data")
    if not isinstance(data, dict):
        raise PoisonMessage("data is not a JSON object")
    while (event_type, version) in _UPCASTERS:
        data = _UPCASTERS[(event_type, version)](data)
        version += 1
    model = _REGISTRY.get((event_type, version))
    if model is None:
        raise PoisonMessage(f"unknown event schema {event_type} v{version}")
    try:
        payload = model.model_validate(data)
    except ValidationError as exc:
        raise PoisonMessage(f"invalid {event_type} v{version}: {exc.errors()[:3]}") from exc
    return Envelope(
        id=str(doc["id"]),
        source=str(doc["source"]),
        type=event_type,
        subject=str(doc["subject"]),
        time=time,
        version=version,
        data=payload,
    )


def kafka_headers(envelope: Envelope) -> list[tuple[str, bytes]]:
    """Headers that let a reader route a message without parsing it."""
    return [
        ("content-type", CONTENT_TYPE.encode()),
        ("ce_type", envelope.type.encode()),
        ("ce_id", envelope.id.encode()),
    ]
