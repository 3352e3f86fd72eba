"""``xf replay``: routing's and deadlines' topics replayed into a fresh database reproduce what
a database fed the same events holds, and the comparison finds a row that differs and a
decision that never reached a topic.

The test replays topics of its own (a fresh prefix): its "live" database is one the service's
pipeline filled from them, so the comparison is not disturbed by the rest of the suite. The
fault suite (tests/chaos) runs the same replay against the running services' own databases.
"""

from __future__ import annotations

import functools
import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.domain.vocab import default_vocabulary
from shared.tools.cli.replay import local_shape
from shared.tools.replay import (
    copy_inputs,
    drop_database,
    fresh_database,
    replay,
    replay_into,
)
from shared.tools.stack import kafka, postgres
from tests.conftest import Stack
from tests.integration.statistics_cases import Case
from tests.integration.test_statistics_api import UNITS
from tests.integration.test_statistics_support import produce


async def _publish_outbox(bootstrap: str, dsn: str) -> list[str]:
    """What a relay would do with the database's outbox; the topic of each message sent."""
    conn = await asyncpg.connect(dsn)
    rows = await conn.fetch("SELECT topic, key, value FROM outbox ORDER BY id")
    await conn.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for r in rows:
            await producer.send_and_wait(r["topic"], bytes(r["value"]), key=r["key"].encode())
    finally:
        await producer.stop()
    return [r["topic"] for r in rows]


async def test_a_replay_reproduces_the_database_and_finds_what_differs(stack: Stack) -> None:
    prefix = f"xreplay{uuid.uuid4().hex[:10]}"
    await kafka.create_topics(stack.bootstrap, prefix)
    rng = random.Random()
    start = datetime(1600, 1, 1, tzinfo=UTC)
    cases = [Case.random(rng, start + timedelta(hours=rng.randrange(8760)),
                         default_vocabulary(), UNITS) for _ in range(150)]
    events = [(topic.replace("xinfang.", f"{prefix}.", 1), env)
              for c in cases for topic, env in c.events(rng)]
    # Redelivered events are claimed once by the inbox, in the replay as live.
    sent = events + rng.sample(events, len(events) // 10)
    await produce(stack.bootstrap, sent)
    on_topics = [topic for topic, _ in sent]

    admin = functools.partial(postgres.superuser_connect, stack.layout)
    # A row of the live database changed behind the service's back: drift on both sides.
    tampering = {
        "routing": ("petitions", "UPDATE petitions SET category = category || '-x' WHERE "
                                 "case_id = (SELECT case_id FROM petitions LIMIT 1)"),
        "deadlines": ("timers", "UPDATE timers SET due_date = due_date + 1 "
                                "WHERE id = (SELECT min(id) FROM timers)"),
    }
    try:
        for service, (table, tamper) in tampering.items():
            shape, dsn = local_shape(stack.layout, service, topic_prefix=prefix)
            live = await fresh_database(service, dsn, admin)
            try:
                await copy_inputs(dsn, live, shape.copied)
                consumed = {t.name(prefix) for t in shape.spec.consumes}
                assert await replay_into(shape, live) == sum(t in consumed for t in on_topics)

                before = await replay(shape, live, admin, say=lambda _: None)
                assert before.drift == [], before.problems
                assert all(n > 0 for table, n in before.rows.items() if table != "parked"), \
                    before.rows
                published = await _publish_outbox(stack.bootstrap, live)
                on_topics += published  # deadlines reads what routing's outbox published
                # Decisions nobody relayed are on no topic: the replay says so, each of them.
                assert len(before.unpublished) == len(published), service
                if service == "routing":
                    assert len(published) >= len(cases)

                after = await replay(shape, live, admin, say=lambda _: None)
                assert after.problems == [], after.problems

                conn = await asyncpg.connect(live)
                assert await conn.execute(tamper) == "UPDATE 1"
                await conn.close()
                found = await replay(shape, live, admin, say=lambda _: None)
                assert [(d.name, d.missing, d.extra) for d in found.drift] == [(table, 1, 1)], \
                    found.problems
            finally:
                await drop_database(live, admin)
        conn = await postgres.superuser_connect(stack.layout)
        left = await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname LIKE $1",
                                   f"%_replay_{datetime.now(UTC):%Y}%")
        await conn.close()
        assert left == 0, "a replay left its database behind"
    finally:
        await kafka.delete_topics(stack.bootstrap, prefix)
