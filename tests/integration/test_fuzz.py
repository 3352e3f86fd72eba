"""The short fuzz run (the long one is ``make fuzz``): schemathesis against every service's
OpenAPI document, positive and negative data, as staff, a unit and anonymously."""

from __future__ import annotations

import asyncio

from shared.tools.testing.fuzz import CREDENTIALS, SERVICES, run_all


async def test_no_server_error_and_every_response_as_documented(stack) -> None:
    outcomes = await asyncio.to_thread(run_all, stack.layout, max_examples=10)
    assert {(o.service, o.credential) for o in outcomes} == {
        (s, c) for s in SERVICES for c in CREDENTIALS}
    failed = [f"{o.service}/{o.credential}: {o.failures} failures, {o.errors} errors, see "
              f"{o.log}" for o in outcomes if not o.passed]
    assert not failed, failed
    assert all(o.requests > 0 for o in outcomes)
    print(f"fuzz: {sum(o.requests for o in outcomes)} requests, 0 server errors")
