"""The one event envelope (CloudEvents 1.0, structured JSON mode) and its codec.

Every message on every topic is one envelope. ``dataschema`` carries the event's schema
version (``urn:xinfang:<type>:<version>``); the payload is validated against the typed model
registered for that (type, version) at the edge, so a handler only ever sees typed data.
Schema changes are additive (a reader ignores fields it does not know); a breaking change is a
new version, which a reader without its model skips (``UnknownEvent``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import orjson
from pydantic import ValidationError

from shared.domain.event_types import EventData, model_for, type_and_version

CONTENT_TYPE = "application/cloudevents+json"
SPEC_VERSION = "1.0"

class PoisonMessage(Exception):
    """A message that can never be processed as it is: not an envelope, or a payload that does
    not fit the model registered for its (type, version). Retrying would fail the same way."""


class UnknownEvent(Exception):
    """A well-formed envelope of a type or version this reader has no model for: written by a
    newer producer (a rolling upgrade) or of no interest here. Skipped and counted, never
    dead-lettered."""

    def __init__(self, event_type: str, version: int) -> None:
        super().__init__(f"no model for {event_type} v{version}")
        self.event_type = event_type
        self.version = version


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


def new_event_id() -> str:
    return str(uuid.uuid4())


def envelope_for(
    data: EventData, *, subject: str, source: str, time: datetime, event_id: str | None = None
) -> Envelope:
    event_type, version = type_and_version(type(data))
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
    """Parse and validate one message value.

    Raises PoisonMessage when it can never be used, UnknownEvent when it is a valid envelope of
    a (type, version) this reader has no model for.
    """
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
    model = model_for(event_type, version)
    if model is None:
        raise UnknownEvent(event_type, version)
    try:
        payload = model.model_validate(data)
    except ValidationError as exc:
        raise PoisonMessage(f"invalid {event_type} v{version}: {exc.errors()[:3]}") from exc
    try:
        # The canonical form (lower case): the inbox compares ids as PostgreSQL returns them.
        event_id = str(uuid.UUID(str(doc["id"])))
    except ValueError as exc:
        raise PoisonMessage(f"id is not a UUID: {exc}") from exc
    return Envelope(
        id=event_id,
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
