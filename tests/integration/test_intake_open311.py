"""Open311 GeoReport v2 and the OpenAPI document of intake."""

from __future__ import annotations

import uuid

import aiohttp

from shared.domain.vocab import default_vocabulary
from shared.tools.testing.tokens import STAFF, channel_token
from tests.integration.intake_support import case_count


async def test_open311_services_create_list_and_errors(stack) -> None:
    base = stack.url("intake", "/open311/v2")
    token = channel_token("online")
    marker = f"o311-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/services.json") as r:
            services = await r.json()
        assert {s["service_code"] for s in services} == set(default_vocabulary().categories.codes)

        form = {"api_key": token, "service_code": "campus_safety", "jurisdiction_id": "taihe",
                "description": "校门口上下学时段交通拥堵，存在安全隐患。",
                "first_name": "四", "last_name": "王", "phone": "13900139000",
                "address_string": "泰和县某路", "email": "w@example.org", "external_id": marker}
        async with http.post(f"{base}/requests.json", data=form) as r:
            assert r.status == 201, await r.text()
            created = (await r.json())[0]
        request_id = created["service_request_id"]
        async with http.post(f"{base}/requests.json", data=form) as r:
            assert r.status == 200 and (await r.json())[0]["service_request_id"] == request_id

        async with http.get(f"{base}/requests/{request_id}.json",
                            params={"api_key": STAFF}) as r:
            one = (await r.json())[0]
            text = await r.text()
        assert one["status"] == "open" and one["service_code"] == "campus_safety"
        for personal in ("王", "13900139000", "泰和县某路", "w@example.org", "校门口"):
            assert personal not in text
        async with http.get(f"{base}/requests.json",
                            params={"api_key": token, "service_request_id": request_id,
                                    "status": "open"}) as r:
            assert [x["service_request_id"] for x in await r.json()] == [request_id]

        bad = dict(form, service_code="weather", external_id=f"{marker}-bad")
        async with http.post(f"{base}/requests.json", data=bad) as r:
            assert r.status == 400
            err = await r.json()
        assert err[0]["code"] == 400 and err[0]["description"].startswith("service_code")
        async with http.post(f"{base}/requests.json", data={**form, "api_key": "nope" * 5}) as r:
            assert r.status == 401 and (await r.json())[0]["code"] == 401
        async with http.get(f"{base}/requests/XF-1999-000000.json",
                            params={"api_key": STAFF}) as r:
            assert r.status == 404 and (await r.json())[0]["code"] == 404
    assert await case_count(stack.dsns["intake"], "external_id = $1", f"{marker}-bad") == 0


async def test_openapi_document_describes_the_contract(stack) -> None:
    async with aiohttp.ClientSession() as http, http.get(
        stack.url("intake", "/openapi.json")
    ) as r:
        doc = await r.json()
    assert doc["openapi"].startswith("3.")
    for path in ("/v1/cases", "/v1/cases/{case_id}", "/v1/cases/{case_id}/actions",
                 "/v1/track/{tracking_no}", "/v1/imports", "/v1/imports/{import_id}"):
        assert path in doc["paths"], path
    schema = doc["components"]["schemas"]["CaseSubmission"]
    assert set(schema["required"]) >= {"channel", "jurisdiction", "category", "title",
                                       "content", "petitioner"}
