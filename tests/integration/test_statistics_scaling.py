"""Two statistics instances at once: the consumer group splits the partitions, both write the
same projection (case rows locked in one order, concurrent creation of a case row retried),
exactly one leads (folds and exports the gauges), and the figures still equal the truth."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from services.statistics.params import end_of_day
from shared.domain.vocab import default_vocabulary
from shared.tools.stack.layout import PORT_OFFSET
from shared.tools.testing.instances import running
from tests.integration.statistics_cases import Case
from tests.integration.statistics_truth import expected_breakdown, expected_summary, truth
from tests.integration.test_statistics_api import UNITS, Api, apply, local
from tests.integration.test_statistics_support import fresh_block, merge_alerts

VOCAB = default_vocabulary()
PORT = 18084 + PORT_OFFSET
ROOT = Path(__file__).resolve().parents[2]


async def _leader_flags(http: aiohttp.ClientSession, urls: list[str]) -> list[float]:
    flags = []
    for url in urls:
        async with http.get(url) as resp:
            text = await resp.text()
        flags += [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                  if line.startswith("xinfang_stats_leader ")]
    return flags


async def test_two_instances_agree_with_the_truth_and_one_leads(stack) -> None:
    async with (running(stack.layout, "statistics", port=PORT, name="statistics-test-2")
                as second, aiohttp.ClientSession() as http):
        urls = [stack.url("statistics", "").rstrip("/"), second.base]
        rng = random.Random()
        y = await fresh_block(http, stack, rng, years=3)
        cases = [Case.random(rng, local(y, 1, 1) + timedelta(hours=rng.randrange(17520)),
                             VOCAB, UNITS) for _ in range(1500)]
        merge_alerts(cases, await apply(stack, cases, settle=True))
        flags = await _leader_flags(http, [stack.metrics_url("statistics"),
                                           f"{second.metrics_base}/metrics"])
        assert sorted(flags) == [0.0, 1.0], flags
        period = {"from": f"{y:04d}-01-01", "to": f"{y + 1:04d}-12-31"}
        start, end = date(y, 1, 1), date(y + 1, 12, 31)
        mid = local(y + 1, 2, 2)
        instants = [(f"{y + 2:04d}-12-31", end_of_day(date(y + 2, 12, 31))),
                    (mid.isoformat(), mid)]
        for url in urls:
            api = Api(http, _At(url))
            for param, cut in instants:
                got = await api.ok("/v1/stats/summary", **period, as_of=param)
                assert got == expected_summary(truth(cases, start, end, cut)), url
                for by in ("unit", "jurisdiction", "month"):
                    got = await api.ok("/v1/stats/breakdown", by=by, **period, as_of=param)
                    want = expected_breakdown(truth(cases, start, end, cut, group=by), by,
                                              VOCAB)
                    assert got == want, (url, by)


class _At:
    """A stack stand-in whose statistics URL is another instance's."""

    def __init__(self, base: str) -> None:
        self.base = base

    def url(self, _service: str, path: str) -> str:
        return f"{self.base}{path}"

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)
