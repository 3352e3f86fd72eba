"""The consumer's unit of work, owned by the platform: a service supplies only its policy.

For each chunk of a batch, in one transaction: claim the events' ids in the inbox, hand the
fresh ones to the policy (which writes its effects and may return outbox events), park what
cannot be applied, commit. Only then may the messages be acknowledged. Three kinds of failure:

- *transient* (the database or broker away, read-only, out of resources, a lock or a statement
  cancelled: ``shared.platform.db.is_transient``) — the same chunk is retried in place with
  backoff until it goes through or the worker stops; a chunk that timed out is halved first,
  and the chunk size grows back after successes;
- *poison* — a message that is not an envelope, or an event the policy raises on for its own
  content: found by halving the chunk, parked (``parking.py``) with a copy for the dead-letter
  topic in the outbox, in the same transaction, so the rest of the batch goes on;
- too much poison — the :class:`DeadLetterPolicy` is breached (a bad deploy rejecting
  everything): :class:`ConsumerHalted` is raised and the consumer stops without acknowledging.

A well-formed event of a type or version this service has no model for is skipped and counted
(``xinfang_events_ignored_total``): a newer producer during a rolling upgrade is no poison.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg
from prometheus_client import Counter, Histogram

import shared.domain.schemas  # noqa: F401  (registers every payload model with the codec)
from shared.platform import faults, inbox, outbox, parking
from shared.platform.db import is_timeout, is_transient
from shared.platform.events import Envelope, PoisonMessage, UnknownEvent, decode
from shared.platform.logging import get_logger

log = get_logger(__name__)

CONSUMED = Counter("xinfang_events_consumed_total", "Events consumed", ["topic", "type"])
IGNORED = Counter("xinfang_events_ignored_total",
                  "Events skipped: a type or version this consumer has no model for",
                  ["type", "version"])
DEAD_LETTERS = Counter("xinfang_dead_letters_total", "Messages parked and dead-lettered",
                       ["topic", "reason"])
RETRIES = Counter("xinfang_consumer_retries_total",
                  "Chunks retried after a transient failure")
SPLITS = Counter("xinfang_consumer_chunk_splits_total",
                 "Chunks halved after a timeout or to find a poison event")
BATCH_SECONDS = Histogram("xinfang_consumer_batch_seconds", "Time to apply one chunk")


@dataclass(frozen=True)
class Delivered:
    """An event with where it came from: its inbox row records the origin."""

    envelope: Envelope
    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    value: bytes | None = None

    def inbox_row(self) -> tuple[str, str, str, int, int]:
        return (self.envelope.id, self.envelope.type, self.topic, self.partition, self.offset)


@dataclass(frozen=True)
class Raw:
    """A message as it came off the topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class Applied:
    """What a policy decided beyond what it wrote itself: events for the outbox, and work to do
    once the transaction has committed (metrics)."""

    outbox: list[tuple[str, Sequence[Envelope]]] = field(default_factory=list)
    after_commit: Callable[[], None] | None = None


Policy = Callable[[asyncpg.Connection, Sequence[Delivered]], Awaitable[Applied | None]]


class _TooBig(Exception):
    """A chunk ran out of time: the caller slices again at the (smaller) chunk size."""


class ConsumerHalted(RuntimeError):
    """Consumption must stop without acknowledging what is in hand."""


class DeadLetterPolicy:
    """Stops a consumer that parks too much: more than ``max_consecutive`` poison messages in a
    row, or more than ``max_ratio`` of the last ``window`` messages (after ``window`` seen)."""

    def __init__(self, *, max_consecutive: int = 50, max_ratio: float = 0.5,
                 window: int = 200) -> None:
        self._max_consecutive = max_consecutive
        self._max_ratio = max_ratio
        self._recent: deque[bool] = deque(maxlen=window)
        self._consecutive = 0

    def record(self, good: int, parked: int) -> None:
        """Account a chunk; raise ConsumerHalted when the limits are passed."""
        self._recent.extend([True] * good)
        self._recent.extend([False] * parked)
        self._consecutive = 0 if good else self._consecutive + parked
        bad = self._recent.count(False)
        if self._consecutive > self._max_consecutive:
            raise ConsumerHalted(f"{self._consecutive} poison messages in a row")
        if len(self._recent) == self._recent.maxlen and bad > self._max_ratio * len(self._recent):
            raise ConsumerHalted(f"{bad} of the last {len(self._recent)} messages were poison")


class ChunkSize:
    """The number of events one transaction takes: halved after a timeout, doubled back after
    ``grow_after`` chunks in a row went through."""

    def __init__(self, ceiling: int, grow_after: int = 8) -> None:
        self.ceiling = ceiling
        self.current = ceiling
        self._grow_after = grow_after
        self._streak = 0

    def timed_out(self, size: int) -> None:
        self.current = max(1, min(self.current, size) // 2)
        self._streak = 0

    def succeeded(self) -> None:
        self._streak += 1
        if self._streak >= self._grow_after and self.current < self.ceiling:
            self.current = min(self.ceiling, self.current * 2)
            self._streak = 0


@dataclass
class ConsumerHealth:
    """Read by readiness and liveness: is the consumer retrying, or has it stopped?"""

    retrying_since: float | None = None
    last_error: str | None = None
    halted: str | None = None


class Pipeline:
    def __init__(self, pool: asyncpg.Pool, policy: Policy, *, service: str,
                 dead_letter_topic: str, dead_letter_policy: DeadLetterPolicy,
                 chunk: ChunkSize, health: ConsumerHealth, retry_max_seconds: float = 10.0
                 ) -> None:
        self._pool = pool
        self._policy = policy
        self._service = service
        self._dlq_topic = dead_letter_topic
        self._dlq_policy = dead_letter_policy
        self._chunk = chunk
        self.health = health
        self._retry_max = retry_max_seconds

    @classmethod
    def standalone(cls, pool: asyncpg.Pool, policy: Policy, *, service: str,
                   chunk: int = 500) -> Pipeline:
        """A pipeline outside a running service (benchmarks, tools): default limits."""
        return cls(pool, policy, service=service,
                   dead_letter_topic=f"xinfang.deadletter.{service}",
                   dead_letter_policy=DeadLetterPolicy(), chunk=ChunkSize(chunk),
                   health=ConsumerHealth())

    async def process(self, messages: Sequence[Raw]) -> None:
        """Return once every message is applied, ignored or parked (committed)."""
        events: list[Delivered] = []
        poison: list[parking.Poison] = []
        for m in messages:
            try:
                envelope = decode(m.value)
            except PoisonMessage as exc:
                poison.append(parking.Poison(m.topic, m.partition, m.offset, m.key, m.value,
                                             "undecodable", str(exc)))
                continue
            except UnknownEvent as exc:
                IGNORED.labels(exc.event_type, str(exc.version)).inc()
                continue
            CONSUMED.labels(m.topic, envelope.type).inc()
            events.append(Delivered(envelope, m.topic, m.partition, m.offset, m.key, m.value))
        if poison:
            await self._until_done([], poison)
        start = 0
        while start < len(events):
            chunk = events[start:start + self._chunk.current]
            try:
                await self._until_done(chunk, [])
            except _TooBig:
                continue  # smaller chunks from the same place (what committed is in the inbox)
            start += len(chunk)

    async def _until_done(self, events: list[Delivered], poison: list[parking.Poison]) -> None:
        delay = 0.1
        loop = asyncio.get_running_loop()
        while True:
            try:
                with BATCH_SECONDS.time():
                    await self.apply(events, poison)
                self.health.retrying_since = None
                self.health.last_error = None
                self._chunk.succeeded()
                return
            except (asyncio.CancelledError, ConsumerHalted, _TooBig):
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                if len(events) > 1 and is_timeout(exc):
                    SPLITS.inc()
                    self._chunk.timed_out(len(events))
                    raise _TooBig from exc
                if len(events) > 1 and not is_transient(exc):
                    # One of them is poison: halve until it is found.
                    SPLITS.inc()
                    half = len(events) // 2
                    await self._until_done(events[:half], poison)
                    await self._until_done(events[half:], [])
                    return
                if not is_transient(exc) and events:
                    d = events[0]
                    log.warning("event_rejected", topic=d.topic, partition=d.partition,
                                offset=d.offset, type=d.envelope.type, error=error[:300])
                    poison = [*poison, rejected(d, error)]
                    events = []
                    continue
                RETRIES.inc()
                self.health.retrying_since = self.health.retrying_since or loop.time()
                self.health.last_error = error
                log.warning("chunk_retry", error=error[:300], delay=delay, size=len(events))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)

    async def apply(self, events: Sequence[Delivered], poison: Sequence[parking.Poison],
                    also: Callable[[asyncpg.Connection, bool], Awaitable[None]] | None = None
                    ) -> bool:
        """One transaction: inbox, policy, outbox, parking (and ``also``, told whether the
        events were fresh). Returns whether any event was fresh."""
        applied: Applied | None = None
        async with self._pool.acquire() as conn, conn.transaction():
            fresh_ids = await inbox.claim(conn, [d.inbox_row() for d in events])
            fresh = [d for d in events if d.envelope.id in fresh_ids]
            if fresh:
                applied = await self._policy(conn, fresh)
                for topic, envelopes in (applied.outbox if applied else []):
                    await outbox.add(conn, topic, envelopes)
            new = await parking.park(conn, poison, service=self._service,
                                     dead_letter_topic=self._dlq_topic)
            if also is not None:
                await also(conn, bool(fresh))
            faults.point("consumer.before_commit")
        for p in new:
            DEAD_LETTERS.labels(p.topic, p.reason).inc()
        if applied is not None and applied.after_commit is not None:
            applied.after_commit()
        self._dlq_policy.record(len(events), len(new))
        return bool(fresh)


def rejected(d: Delivered, error: str) -> parking.Poison:
    return parking.Poison(d.topic, d.partition, d.offset, d.key, d.value, "rejected", error,
                          event_id=d.envelope.id, event_type=d.envelope.type)
