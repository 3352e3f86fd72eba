"""Integration-test helpers: real connections only, conditions polled with a deadline."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.platform.events import Envelope, PoisonMessage, UnknownEvent, decode

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within: float = 30.0,
                     every: float = 0.1, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``within``.

    Not sleep-and-hope: the test proceeds the moment the condition holds and fails loudly when
    it never does.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: T | None = None
    while loop.time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {within}s waiting for {what} (last: {last!r})")


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, enable_auto_commit=False,
                                group_id=None)
    await consumer.start()
    try:
        await eventually(lambda: _async(consumer.assignment()), within=10,
                         what=f"partitions of {topic}")
        offsets = await consumer.end_offsets(list(consumer.assignment()))
        return {tp.partition: off for tp, off in offsets.items()}
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str, *, since: dict[int, int] | None = None,
                     until: Callable[[list[tuple[Any, Envelope | None]]], bool] | None = None,
                     within: float = 30.0) -> list[tuple[Any, Envelope | None]]:
    """Read ``topic`` from ``since`` (partition → offset; default the beginning) without a
    consumer group, until ``until(messages)`` holds or ``within`` seconds pass.

    Returns (raw record, decoded envelope or None for an undecodable value).
    """
    # Without a group, a subscription is assigned every partition of the topic.
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, enable_auto_commit=False,
                                group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    out: list[tuple[Any, Envelope | None]] = []
    try:
        await eventually(lambda: _async(consumer.assignment()), within=10,
                         what=f"partitions of {topic}")
        for tp in consumer.assignment():
            if since and tp.partition in since:
                consumer.seek(tp, since[tp.partition])
            else:
                await consumer.seek_to_beginning(tp)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batch.values():
                out.extend((r, _decode_or_none(r.value)) for r in records)
            if until is not None and until(out):
                # Read on to the current end, so a duplicate right behind shows up too.
                ends = await consumer.end_offsets(list(consumer.assignment()))
                while any([await consumer.position(tp) < end for tp, end in ends.items()]):
                    more = await consumer.getmany(timeout_ms=200, max_records=5000)
                    for records in more.values():
                        out.extend((r, _decode_or_none(r.value)) for r in records)
                break
            if until is None and not batch and all(
                [await _caught_up(consumer, tp) for tp in consumer.assignment()]
            ):
                break
        return out
    finally:
        await consumer.stop()


def _decode_or_none(value: bytes | None) -> Envelope | None:
    try:
        return decode(value)
    except (PoisonMessage, UnknownEvent):
        return None


async def _async(value: T) -> T:
    return value


async def _caught_up(consumer: AIOKafkaConsumer, tp: TopicPartition) -> bool:
    end = (await consumer.end_offsets([tp]))[tp]
    return bool(await consumer.position(tp) >= end)


def events_for(messages: Iterable[tuple[Any, Envelope | None]], case_ids: set[str]
               ) -> list[Envelope]:
    return [env for _, env in messages if env is not None and env.subject in case_ids]


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def connect(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn)
