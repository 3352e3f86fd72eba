"""``POST /v1/cases/similar``: a petitioner's open cases by resident ID (else phone), found by
the pseudonymous key as registration computes it; no personal data or text in the answer;
bad input named; only those who register may ask."""

from __future__ import annotations

import aiohttp

from shared.tools.testing.tokens import STAFF, bearer, channel_token, unit_token
from tests.integration.intake_support import submission


async def similar(http: aiohttp.ClientSession, stack, token: str, body: object
                  ) -> tuple[int, dict]:
    async with http.post(stack.url("intake", "/v1/cases/similar"), json=body,
                         headers=bearer(token)) as r:
        return r.status, await r.json()


async def test_open_cases_of_the_same_petitioner(stack) -> None:
    body = submission("letter")
    person = body["petitioner"]
    async with aiohttp.ClientSession() as http:
        async with http.post(stack.url("intake", "/v1/cases"), json=body,
                             headers=bearer(channel_token("letter"))) as r:
            assert r.status == 201
            case = await r.json()
        # Full-width digits and a lower-case x are the same resident ID.
        typed = person["id_number"].translate(str.maketrans("0123456789X", "０１２３４５６７８９x"))
        status, found = await similar(http, stack, STAFF, {"petitioner": {"id_number": typed}})
        assert status == 200, found
        assert found["total"] == 1 and found["items"][0]["tracking_no"] == case["tracking_no"]
        assert found["items"][0]["category"] == {"key": "fees", "label": "教育收费"}
        text = str(found)
        for private in (person["id_number"], person["name"], person["phone"], body["title"]):
            assert private not in text
        # Another petitioner (a new resident ID): nothing.
        other = submission("letter")["petitioner"]["id_number"]
        assert (await similar(http, stack, STAFF, {"petitioner": {"id_number": other}}))[1] == {
            "total": 0, "items": []}

        status, errors = await similar(http, stack, STAFF, {"petitioner": {
            "id_number": "110101199003070000", "phone": "12", "name": "x"}})
        assert status == 422
        assert sorted(e["field"] for e in errors["errors"]) == [
            "petitioner.id_number", "petitioner.name", "petitioner.phone"]
        assert (await similar(http, stack, STAFF, {"petitioner": {}}))[0] == 422
        for token in (channel_token("letter"), unit_token("jizhou_bureau")):
            assert (await similar(http, stack, token, {"petitioner": {"phone": typed}}))[0] == 403
