"""The pure rules of the consumer platform: which failures are the message's fault, when the
dead-letter policy halts, how the chunk size moves, how an envelope's id is read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError, OutOfOrderSequenceNumber

from shared.domain.schemas import CaseLinked
from shared.platform.db import is_timeout, is_transient
from shared.platform.events import PoisonMessage, UnknownEvent, decode, encode, envelope_for
from shared.platform.pipeline import ChunkSize, ConsumerHalted, DeadLetterPolicy

E = asyncpg.exceptions


@pytest.mark.parametrize("exc", [
    E.QueryCanceledError("statement timeout"),           # 57014
    E.ReadOnlySQLTransactionError("read-only"),          # 25006
    E.DiskFullError("disk full"),                        # 53100
    E.OutOfMemoryError("out of memory"),                 # 53200
    E.LockNotAvailableError("lock"),                     # 55P03
    E.InternalServerError("internal"),                   # XX000
    E.SerializationError("serialization"),               # 40001
    E.DeadlockDetectedError("deadlock"),                 # 40P01
    E.AdminShutdownError("shutdown"),                    # 57P01
    E.CannotConnectNowError("starting"),                 # 57P03
    E.TooManyConnectionsError("too many"),               # 53300
    E.UndefinedTableError("migration not run"),          # 42P01: a deployment's, not the event's
    ConnectionResetError(), TimeoutError(),
    KafkaTimeoutError(), MessageSizeTooLargeError(), OutOfOrderSequenceNumber(),
])
def test_conditions_that_are_not_the_messages_fault_are_transient(exc: Exception) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize("exc", [
    E.DivisionByZeroError("x"), E.InvalidTextRepresentationError("x"),
    E.NumericValueOutOfRangeError("x"), E.UniqueViolationError("x"),
    E.ForeignKeyViolationError("x"), E.CheckViolationError("x"),
    ValueError("bad"), KeyError("k"),
])
def test_data_errors_are_the_messages_fault(exc: Exception) -> None:
    assert not is_transient(exc)


def test_timeouts_are_told_apart() -> None:
    assert is_timeout(E.QueryCanceledError("x")) and is_timeout(TimeoutError())
    assert not is_timeout(E.ReadOnlySQLTransactionError("x"))


def test_policy_halts_on_a_run_of_poison() -> None:
    policy = DeadLetterPolicy(max_consecutive=3, max_ratio=1.0, window=10)
    policy.record(good=5, parked=0)
    policy.record(good=0, parked=3)
    with pytest.raises(ConsumerHalted, match="4 poison messages in a row"):
        policy.record(good=0, parked=1)


def test_a_good_event_resets_the_run() -> None:
    policy = DeadLetterPolicy(max_consecutive=3, max_ratio=1.0, window=10)
    for _ in range(5):
        policy.record(good=0, parked=2)
        policy.record(good=1, parked=0)


def test_policy_halts_on_a_share_of_poison_once_the_window_is_full() -> None:
    policy = DeadLetterPolicy(max_consecutive=1000, max_ratio=0.5, window=10)
    policy.record(good=4, parked=5)  # window not full yet
    with pytest.raises(ConsumerHalted, match="of the last 10"):
        policy.record(good=0, parked=2)


def test_chunk_size_halves_on_timeout_and_grows_back() -> None:
    size = ChunkSize(64, grow_after=2)
    size.timed_out(64)
    size.timed_out(32)
    assert size.current == 16
    size.succeeded()
    assert size.current == 16
    size.succeeded()
    assert size.current == 32
    for _ in range(10):
        size.succeeded()
    assert size.current == 64
    for _ in range(10):
        size.timed_out(size.current)
    assert size.current == 1


def _value(**change: object) -> bytes:
    case_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    doc = orjson.loads(encode(envelope_for(
        CaseLinked(case_id=case_id, linked_to=case_id, kind="repeat", at=now),
        subject=case_id, source="tests", time=now)))
    doc.update(change)
    return orjson.dumps(doc)


def test_ids_are_read_in_canonical_form() -> None:
    upper = str(uuid.uuid4()).upper()
    assert decode(_value(id=upper)).id == upper.lower()


def test_an_id_that_is_not_a_uuid_is_poison() -> None:
    with pytest.raises(PoisonMessage, match="UUID"):
        decode(_value(id="not-a-uuid"))


def test_unknown_type_or_version_is_not_poison() -> None:
    with pytest.raises(UnknownEvent) as newer:
        decode(_value(dataschema="urn:xinfang:case.linked:2"))
    assert (newer.value.event_type, newer.value.version) == ("case.linked", 2)
    with pytest.raises(UnknownEvent):
        decode(_value(type="case.site_visited",
                      dataschema="urn:xinfang:case.site_visited:1"))


def test_a_newer_minor_version_with_extra_fields_is_read() -> None:
    doc = orjson.loads(_value())
    doc["data"]["added_later"] = "ignored"
    assert decode(orjson.dumps(doc)).type == "case.linked"
