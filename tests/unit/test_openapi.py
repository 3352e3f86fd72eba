"""Every route of every service is in its OpenAPI document, and every documented operation is
a route: the apps are built by the services' own composition roots, without connecting."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from services.deadlines.config import DeadlinesSettings
from services.deadlines.main import build_spec as deadlines_spec
from services.intake.config import IntakeSettings
from services.intake.main import build_spec as intake_spec
from services.routing.config import RoutingSettings
from services.routing.main import build_spec as routing_spec
from services.statistics.config import StatisticsSettings
from services.statistics.main import build_spec as statistics_spec
from shared.platform.auth import MachineTokens, TokenBook
from shared.platform.clock import SystemClock
from shared.platform.openapi import app_routes, documented_routes
from shared.platform.runtime import Infrastructure
from shared.platform.service import ServiceSpec
from shared.platform.settings import ServiceSettings
from shared.platform.web import create_web_app

SERVICES = ["intake", "routing", "deadlines", "statistics"]
KEY = base64.b64encode(bytes(32)).decode()


def _spec(service: str, tmp: Path) -> ServiceSpec:
    if service == "intake":
        return intake_spec(IntakeSettings(pii_key=KEY, pseudonym_key=KEY,  # type: ignore[arg-type]
                                          import_dir=tmp))
    return {"routing": lambda: routing_spec(RoutingSettings()),
            "deadlines": lambda: deadlines_spec(DeadlinesSettings()),
            "statistics": lambda: statistics_spec(StatisticsSettings())}[service]()


async def _ready() -> dict[str, bool]:
    return {}


async def _built(service: str, tmp: Path) -> tuple[web.Application, dict[str, Any]]:
    """The service's app as its composition root wires it, and the document it serves."""
    spec = _spec(service, tmp)
    app = create_web_app(TokenBook(MachineTokens(())), _ready)
    assert spec.routes is not None
    spec.routes(app, Infrastructure(settings=ServiceSettings(), pool=None,  # type: ignore[arg-type]
                                    clock=SystemClock()))
    serve = next(r.handler for r in app.router.routes()
                 if r.method == "GET" and r.resource is not None
                 and r.resource.canonical == "/openapi.json")
    response = await serve(None)  # type: ignore[arg-type]  # the handler ignores its request
    assert isinstance(response, web.Response) and isinstance(response.body, bytes)
    return app, orjson.loads(response.body)


@pytest.mark.parametrize("service", SERVICES)
async def test_every_route_is_documented_and_every_documented_route_exists(
        service: str, tmp_path: Path) -> None:
    app, doc = await _built(service, tmp_path)
    assert doc["openapi"] == "3.1.0"
    assert app_routes(app) == documented_routes(doc)


@pytest.mark.parametrize("service", SERVICES)
async def test_every_path_parameter_is_declared_and_every_operation_answers(
        service: str, tmp_path: Path) -> None:
    _, doc = await _built(service, tmp_path)
    assert {"bearer"} <= set(doc["components"]["securitySchemes"])
    for path, item in doc["paths"].items():
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
            assert op["responses"], (method, path)
            if op.get("security") != []:  # a protected operation documents its refusal
                assert "401" in op["responses"] or path.startswith("/open311"), (method, path)
