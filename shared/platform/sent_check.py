"""Which outbox rows are on their topic already, though never marked sent.

The relay marks rows sent after the broker acknowledged them. Between the two a crash, a lost
acknowledgement (a send that timed out but was written) or a replaced producer leaves rows
that are on the topic and still unsent in the database; sending them again would put one event
on the topic twice. Consumers would skip the copy (their inbox), but an alert is read by more
than our consumers, and the fault suite holds the relay to "every event id published once".

So a row whose send is in doubt is looked up before it is sent again: the tail of its topic
from a little before the row was written is read, and a message with the same key and the same
bytes is the row. Identical bytes are the same event: every envelope carries its own id, and a
dead letter is written once, under a deterministic id. Doubt is rare (after a failure or on
taking a shard over), so the read is rare; it is bounded, and past the bound the relay sends
anyway: at-least-once stays the floor.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.platform.logging import get_logger

log = get_logger(__name__)

# Producers stamp messages with their own clock; the database stamps rows with its own. The
# margin covers the skew between the two and the time from the insert to the send.
CLOCK_MARGIN_MS = 120_000


def fingerprint(key: bytes, value: bytes) -> bytes:
    return hashlib.blake2b(len(key).to_bytes(4, "big") + key + value, digest_size=16).digest()


class TopicTail:
    """Reads the tails of topics to find messages by fingerprint, with a consumer of its own
    (no group: it commits nothing and joins nothing), started on first use and kept."""

    def __init__(self, bootstrap: str, *, max_messages: int = 200_000,
                 timeout: float = 10.0) -> None:
        self._bootstrap = bootstrap
        self._max_messages = max_messages
        self._timeout = timeout
        self._consumer: AIOKafkaConsumer | None = None

    async def find(self, topic: str, since_ms: int, wanted: Iterable[bytes]) -> set[bytes]:
        """The fingerprints of ``wanted`` found on ``topic`` at or after ``since_ms``. Raises
        when the broker cannot be read within the timeout (the caller keeps the rows in
        doubt and tries later); the bound keeps a broker that is away from holding up the
        relay's retries."""
        try:
            async with asyncio.timeout(self._timeout):
                if self._consumer is None:
                    consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap,
                                                enable_auto_commit=False,
                                                request_timeout_ms=int(self._timeout * 1000))
                    try:
                        await consumer.start()
                    except BaseException:
                        await consumer.stop()
                        raise
                    self._consumer = consumer
                return await self._scan(self._consumer, topic, since_ms - CLOCK_MARGIN_MS,
                                        set(wanted))
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                await asyncio.wait_for(consumer.stop(), 5.0)
            except Exception as exc:  # a consumer of a broker that went away: gone anyway
                log.info("outbox_sent_check_stop_failed", error=f"{type(exc).__name__}")

    async def _scan(self, consumer: AIOKafkaConsumer, topic: str, since_ms: int,
                    wanted: set[bytes]) -> set[bytes]:
        # The consumer's own metadata covers only what it subscribed to; the whole cluster's
        # (aiokafka has no public call for one topic's partitions without subscribing).
        cluster = await consumer._client.fetch_all_metadata()
        partitions = cluster.partitions_for_topic(topic)
        if not partitions:
            return set()  # no such topic: nothing can have been written to it
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        starts = await consumer.offsets_for_times({tp: max(since_ms, 0) for tp in tps})
        ends = await consumer.end_offsets(tps)
        active: dict[TopicPartition, int] = {}
        for tp in tps:
            start = starts.get(tp)
            if start is not None and start.offset < ends[tp]:
                consumer.seek(tp, start.offset)
                active[tp] = ends[tp]
        found: set[bytes] = set()
        read = 0
        while active and found != wanted:
            batches = await consumer.getmany(*active, timeout_ms=500)
            for tp, messages in batches.items():
                for m in messages:
                    if m.offset < active.get(tp, -1):
                        read += 1
                        mark = fingerprint(m.key or b"", m.value or b"")
                        if mark in wanted:
                            found.add(mark)
            for tp in list(active):
                if await consumer.position(tp) >= active[tp]:
                    del active[tp]
            if read > self._max_messages:
                log.warning("outbox_sent_check_gave_up", topic=topic, read=read)
                break
        return found
