"""Consuming events with faust: batches, one transaction per batch, two kinds of failure.

faust acks an event even when the agent's loop raises (ENGINEERING.md, faust #316), so nothing
may escape the loop:
- a *transient* failure (database or broker away) is retried in place with backoff, forever,
  until the worker stops — the batch is never acked before it is applied;
- a *poison* message (undecodable, unknown schema, or one the handler rejects outright) goes
  to the service's dead-letter topic with its origin and the error, the send awaited, and the
  rest of the batch carries on. A cap per minute stops the consumer instead of draining a
  topic into the dead-letter topic after a bad deploy.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import faust
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Histogram

import shared.domain.schemas  # noqa: F401  (registers every payload model with the codec)
from shared.platform.db import is_transient
from shared.platform.events import Envelope, PoisonMessage, UnknownEvent, decode
from shared.platform.logging import get_logger

log = get_logger(__name__)

CONSUMED = Counter("xinfang_events_consumed_total", "Events consumed", ["topic", "type"])
DEAD_LETTERS = Counter("xinfang_dead_letters_total", "Messages sent to the dead-letter topic",
                       ["topic", "reason"])
RETRIES = Counter("xinfang_consumer_retries_total",
                  "Batches retried after a transient failure")
IGNORED = Counter("xinfang_events_ignored_total",
                  "Events skipped: a type or version this consumer has no model for",
                  ["type", "version"])
BATCH_SECONDS = Histogram("xinfang_consumer_batch_seconds", "Time to apply one batch")


@dataclass(frozen=True)
class Delivered:
    """An event with where it came from: the handler records the origin in its inbox."""

    envelope: Envelope
    topic: str
    partition: int
    offset: int

    def inbox_row(self) -> tuple[str, str, str, int, int]:
        return (self.envelope.id, self.envelope.type, self.topic, self.partition, self.offset)


BatchHandler = Callable[[Sequence[Delivered]], Awaitable[None]]


class DeadLetterCapExceeded(RuntimeError):
    pass


class DeadLetters:
    """Sends poison messages to one dead-letter topic, at most ``cap_per_minute``."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, service: str,
                 cap_per_minute: int) -> None:
        self._producer = producer
        self._topic = topic
        self._service = service
        self._cap = cap_per_minute
        self._sent: list[float] = []

    async def send(self, *, topic: str, partition: int, offset: int, key: bytes | None,
                   value: bytes | None, error: str, reason: str) -> None:
        now = time.monotonic()
        self._sent = [t for t in self._sent if now - t < 60]
        if len(self._sent) >= self._cap:
            raise DeadLetterCapExceeded(
                f"more than {self._cap} dead letters in a minute; stopping to protect {topic}"
            )
        self._sent.append(now)
        headers = [
            ("origin_topic", topic.encode()),
            ("origin_partition", str(partition).encode()),
            ("origin_offset", str(offset).encode()),
            ("error", error[:2000].encode()),
            ("reason", reason.encode()),
            ("service", self._service.encode()),
        ]
        await self._producer.send_and_wait(self._topic, value=value or b"", key=key,
                                           headers=headers)
        DEAD_LETTERS.labels(topic, reason).inc()
        log.warning("dead_lettered", topic=topic, partition=partition, offset=offset,
                    reason=reason, error=error[:300])


class BatchProcessor:
    """Decodes a batch, dead-letters the poison, applies the rest; retries what is transient."""

    def __init__(self, handler: BatchHandler, dead_letters: DeadLetters, *,
                 retry_max_seconds: float = 10.0) -> None:
        self._handler = handler
        self._dead_letters = dead_letters
        self._retry_max = retry_max_seconds

    async def process(self, events: Sequence[faust.EventT]) -> None:
        delay = 0.1
        while True:
            try:
                await self._process_once(events)
                return
            except DeadLetterCapExceeded as exc:
                # Exit without letting faust ack and commit the batch: the messages stay on
                # the topic for after the bad deploy is fixed.
                log.critical("dead_letter_cap_exceeded", error=str(exc))
                os._exit(70)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                RETRIES.inc()
                log.warning("batch_retry", error=f"{type(exc).__name__}: {exc}", delay=delay,
                            size=len(events))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)

    async def _process_once(self, events: Sequence[faust.EventT]) -> None:
        good: list[tuple[Delivered, bytes | None]] = []
        for event in events:
            msg = event.message
            try:
                envelope = decode(msg.value)
            except PoisonMessage as exc:
                await self._dead_letters.send(
                    topic=msg.topic, partition=msg.partition, offset=msg.offset, key=msg.key,
                    value=msg.value, error=str(exc), reason="undecodable",
                )
                continue
            except UnknownEvent as exc:
                IGNORED.labels(exc.event_type, str(exc.version)).inc()
                continue
            CONSUMED.labels(msg.topic, envelope.type).inc()
            good.append((Delivered(envelope, msg.topic, msg.partition, msg.offset), msg.value))
        if good:
            await self._apply(good)

    async def _apply(self, batch: list[tuple[Delivered, bytes | None]]) -> None:
        try:
            with BATCH_SECONDS.time():
                await self._handler([d for d, _ in batch])
        except Exception as exc:
            if is_transient(exc):
                raise
            if len(batch) > 1:
                # Find the culprit: apply one at a time so the good events still go through.
                for one in batch:
                    await self._apply([one])
                return
            d, value = batch[0]
            await self._dead_letters.send(
                topic=d.topic, partition=d.partition, offset=d.offset,
                key=d.envelope.subject.encode(), value=value,
                error=f"{type(exc).__name__}: {exc}", reason="rejected",
            )


def attach_consumer(app: faust.App, *, name: str, topics: Sequence[str],
                    processor: Callable[[], BatchProcessor], batch_size: int = 500,
                    within: float = 0.2) -> None:
    """Register a faust agent (concurrency 1, see faust #606) that feeds ``processor``."""
    channel = app.topic(*topics, key_serializer="raw", value_serializer="raw")

    async def agent(stream: faust.StreamT) -> None:
        # take_events acks a batch only after this body has processed it (faust 0.15).
        async for events in stream.take_events(batch_size, within=within):  # type: ignore[attr-defined]
            await processor().process(events)

    app.agent(channel, name=name, concurrency=1)(agent)
