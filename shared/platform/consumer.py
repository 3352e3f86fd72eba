"""The faust side of consuming: an agent that hands batches to the platform's pipeline and
acknowledges them only once they are applied, ignored or parked.

faust's ``take_events`` acknowledges a batch in a ``finally``: whatever leaves the agent's body —
an exception, the cancellation of a shutdown — the batch would be committed. So the agent takes
a hold on every message (one more reference, faust's own ack counting) before it processes a
batch, and gives the hold back only when the pipeline returned. A batch that did not finish
keeps its hold: faust's ack then leaves the offset uncommitted, and the messages come again
after a restart or a rebalance (the inbox makes that harmless).

When the pipeline halts (too much poison) or something unexpected escapes it, the agent stops
consuming and waits, holding the batch, until the worker stops; readiness and liveness report
it so that the instance is taken out and restarted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import faust

from shared.platform.logging import get_logger
from shared.platform.pipeline import ConsumerHalted, Pipeline, Raw

log = get_logger(__name__)


def attach_consumer(app: faust.App, *, name: str, topics: Sequence[str],
                    pipeline: Callable[[], Pipeline], batch_size: int = 500,
                    within: float = 0.2) -> None:
    """Register a faust agent (concurrency 1: with more, faust can commit past a message still
    in flight) that feeds ``pipeline``."""
    channel = app.topic(*topics, key_serializer="raw", value_serializer="raw")

    async def agent(stream: faust.StreamT) -> None:
        async for events in stream.take_events(batch_size, within=within):  # type: ignore[attr-defined]
            for event in events:
                event.message.incref()  # the hold: faust's ack alone cannot commit it now
            current = pipeline()
            try:
                await current.process([
                    Raw(e.message.topic, e.message.partition, e.message.offset,
                        e.message.key, e.message.value) for e in events])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = str(exc) if isinstance(exc, ConsumerHalted) else (
                    f"{type(exc).__name__}: {exc}")
                current.health.halted = reason
                log.critical("consumer_halted", reason=reason, held=len(events))
                await asyncio.Event().wait()  # hold the batch until the worker stops us
            for event in events:
                event.message.decref()  # applied: faust's own ack now commits it

    app.agent(channel, name=name, concurrency=1)(agent)
