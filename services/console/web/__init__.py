"""The console's web pages (docs/domain.md §7): server-rendered with Jinja2, htmx for the parts
that refresh, assets served from the project's own npm install (no CDN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from services.console.web import labels, session
from services.console.web.admin import AdminPages
from services.console.web.backend import Backend, UnitNames
from services.console.web.cases import CasePages
from services.console.web.dashboard import DashboardPages
from services.console.web.leader import LeaderPages
from services.console.web.public import PublicPages
from services.console.web.register import RegisterPages
from services.console.web.search import SearchPages
from services.console.web.signin import SignInPages, SignInService
from services.console.web.stats import StatsPages
from shared.domain.vocab import Vocabulary

HERE = Path(__file__).resolve().parent
ASSETS = HERE.parent / "assets" / "node_modules"
# Only the files the pages use are served, not the whole node_modules folder.
VENDOR = {"htmx.min.js": ASSETS / "htmx.org" / "dist" / "htmx.min.js",
          "echarts.min.js": ASSETS / "echarts" / "dist" / "echarts.min.js"}
UNITS = web.AppKey("unit_names", UnitNames)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def install(app: web.Application, signer: SignInService, vocab: Vocabulary,
            urls: dict[str, str], *, secure: bool) -> None:
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"),
                               autoescape=jinja2.select_autoescape(default=True),
                               context_processors=[_context])
    env.filters.update(labels.filters())
    env.globals.update(vocab=vocab)
    backend = Backend(urls)
    units = UnitNames(backend)
    env.filters["unit_zh"] = units.name
    env.filters["actor_zh"] = lambda face: labels.actor(face, units.name, vocab.channels.label)

    async def close(_: web.Application) -> None:
        await backend.close()

    app.on_cleanup.append(close)
    app[UNITS] = units

    @web.middleware
    async def page_headers(request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        if not request.path.startswith(("/v1/", "/.well-known/", "/healthz", "/readyz")):
            response.headers.update(SECURITY_HEADERS)
            session.remember_csrf(request, response, secure)
        return response

    app.middlewares.append(page_headers)
    app.router.add_static("/static/", HERE / "static")
    app.router.add_get("/vendor/{name}", _vendor)
    SignInPages(signer, secure).install(app)
    RegisterPages(backend, vocab).install(app)
    CasePages(backend, units).install(app)
    PublicPages(backend).install(app)
    SearchPages(backend).install(app)
    StatsPages(backend).install(app)
    DashboardPages(backend).install(app)
    LeaderPages(backend).install(app)
    AdminPages(backend).install(app)


async def _vendor(request: web.Request) -> web.StreamResponse:
    path = VENDOR.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    if not path.exists():
        raise web.HTTPServiceUnavailable(text="front-end assets missing: run `xf stack up` "
                                              "(npm ci in services/console/assets)")
    return web.FileResponse(path, headers={"Cache-Control": "max-age=3600"})


async def _context(request: web.Request) -> dict[str, Any]:
    person = await session.current(request)
    if person is not None:
        await request.app[UNITS].refresh(person.token)
    return {"person": person, "csrf": session.csrf_token(request), "path": request.path}
