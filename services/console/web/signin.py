"""登录 / 退出: the sign-in form calls the same sign-in as ``POST /v1/auth/token``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from services.console.web import session

# (username, password) → (access token, lifetime in seconds) or (None, message in Chinese)
SignInService = Callable[[str, str], Awaitable[tuple[str | None, Any]]]

HOME = {"clerk": "/register", "handler": "/queue", "unit_head": "/queue", "staff": "/search",
        "leader": "/dashboard", "admin": "/admin"}


def redirect(target: str) -> web.Response:
    return web.Response(status=303, headers={"Location": target})


def safe_next(value: str) -> str | None:
    """Only a path of this site: never an address elsewhere (open redirect)."""
    if value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return None


class SignInPages:
    def __init__(self, sign_in: SignInService, secure: bool) -> None:
        self._sign_in = sign_in
        self._secure = secure

    def install(self, app: web.Application) -> None:
        app.router.add_get("/", self.home)
        app.router.add_get("/login", self.form)
        app.router.add_post("/login", self.submit)
        app.router.add_post("/logout", self.logout)

    async def home(self, request: web.Request) -> web.StreamResponse:
        person = await session.current(request)
        if person is None:
            return redirect("/login")
        return redirect(HOME.get(person.role, "/queue"))

    async def form(self, request: web.Request) -> web.StreamResponse:
        return aiohttp_jinja2.render_template(
            "login.html", request, {"next": request.query.get("next", ""), "errors": {}})

    async def submit(self, request: web.Request) -> web.StreamResponse:
        form = await session.check_csrf(request)
        username, password = form.get("username", "").strip(), form.get("password", "")
        errors: dict[str, str] = {}
        if not username:
            errors["username"] = "请输入用户名"
        if not password:
            errors["password"] = "请输入密码"
        if not errors:
            token, detail = await self._sign_in(username, password)
            if token is None:
                errors["password"] = str(detail)
            else:
                target = safe_next(form.get("next", "")) or "/"
                response = redirect(target)
                session.start(response, token, int(detail), self._secure)
                return response
        return aiohttp_jinja2.render_template(
            "login.html", request, {"next": form.get("next", ""), "errors": errors,
                                    "username": username}, status=422 if errors else 200)

    async def logout(self, request: web.Request) -> web.StreamResponse:
        await session.check_csrf(request)
        response = redirect("/login")
        session.end(response)
        return response
