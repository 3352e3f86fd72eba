"""Xinfang's topics read with the official CloudEvents SDK (Kafka protocol binding), as a
bureau's own integration would read them: one content mode (structured), every event type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka
from cloudevents.core.formats.json import JSONFormat

from shared.domain.event_types import registered
from shared.platform.events import CONTENT_TYPE, decode, encode, envelope_for, kafka_headers
from shared.platform.topics import CASE_EVENTS, ROUTING_EVENTS
from shared.tools.stack import kafka
from shared.tools.testing.helpers import end_offsets, eventually, read_topic
from shared.tools.testing.samples import sample
from shared.tools.testing.tokens import unit_token
from tests.integration.lifecycle_support import act, days_ago, read_case, submit

SCRATCH = "cecheck"  # topics of their own for the sample of every event type


def read_with_sdk(record: Any) -> Any:
    message = KafkaMessage(headers={k: v for k, v in record.headers}, key=record.key,
                           value=record.value)
    return from_kafka(message, JSONFormat())


def same_event(event: Any, raw: bytes) -> None:
    ours = decode(raw)
    assert (event.get_id(), event.get_type(), event.get_source(), event.get_subject()) == (
        ours.id, ours.type, ours.source, ours.subject)
    assert event.get_specversion() == "1.0" and event.get_dataschema() == ours.dataschema
    assert event.get_data() == ours.data.model_dump(mode="json")


async def test_every_event_type_reads_with_the_cloudevents_sdk(stack) -> None:
    await kafka.create_topics(stack.bootstrap, SCRATCH)
    topic = CASE_EVENTS.name(SCRATCH)
    since = await end_offsets(stack.bootstrap, topic)
    types = registered()
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for model in types.values():
            env = envelope_for(sample(model), subject="case-sample", source="tests/cloudevents",
                               time=datetime.now(UTC))
            await producer.send_and_wait(topic, value=encode(env), key=b"case-sample",
                                         headers=kafka_headers(env))
    finally:
        await producer.stop()
    messages = await read_topic(stack.bootstrap, topic, since=since,
                                until=lambda m: len(m) >= len(types))
    seen = set()
    for record, _ in messages:
        assert dict(record.headers) == {"content-type": CONTENT_TYPE.encode()}
        event = read_with_sdk(record)
        same_event(event, record.value)
        seen.add(event.get_type())
    assert seen == {t for t, _ in types}


async def test_events_the_services_publish_read_with_the_cloudevents_sdk(stack) -> None:
    topics = [t.name() for t in (CASE_EVENTS, ROUTING_EVENTS)]
    since = {t: await end_offsets(stack.bootstrap, t) for t in topics}
    async with aiohttp.ClientSession() as http:
        case = await submit(http, stack, days_ago(2))
        case_id = case["case_id"]

        async def assigned() -> str | None:
            return (await read_case(http, stack, case_id))["assigned_unit"]

        unit = await eventually(assigned, within=30, what="routing assigned the case")
        for action in ("accept", "reply", "close"):
            status, body = await act(http, stack, case_id, action, token=unit_token(unit),
                                     reason="已答复" if action == "reply" else None)
            assert status == 200, body
    expected = {CASE_EVENTS.name(): {"case.registered", "case.accepted", "case.replied",
                                     "case.closed"},
                ROUTING_EVENTS.name(): {"case.assigned"}}
    for topic, wanted in expected.items():
        def enough(msgs: list[tuple[Any, Any]], wanted: set[str] = wanted) -> bool:
            return wanted <= {e.type for _, e in msgs if e is not None and e.subject == case_id}

        messages = await read_topic(stack.bootstrap, topic, since=since[topic], until=enough)
        ours = [r for r, e in messages if e is not None and e.subject == case_id]
        for record in ours:
            same_event(read_with_sdk(record), record.value)
        assert wanted <= {read_with_sdk(r).get_type() for r in ours}
