"""Sessions of the pages: the access token in a cookie, CSRF protection, sign-in and sign-out.

The cookie holds the signed access token itself (HttpOnly, SameSite=Strict, Secure behind TLS):
no session table to keep, and the token expires on its own within 15 minutes, after which the
person signs in again. Forms carry a CSRF token that must equal a second cookie's (double
submit): SameSite=Strict already stops cross-site posts in current browsers, this also covers
older ones.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from shared.platform.auth import Principal
from shared.platform.web import TOKENS_KEY

SESSION = "xf_session"
CSRF = "xf_csrf"


@dataclass(frozen=True)
class Person:
    who: Principal
    token: str

    @property
    def role(self) -> str:
        return self.who.person_role or self.who.role


async def current(request: web.Request) -> Person | None:
    token = request.cookies.get(SESSION)
    if not token:
        return None
    who = await request.app[TOKENS_KEY].resolve(f"Bearer {token}")
    if who is None or not who.is_person:
        return None
    return Person(who, token)


def csrf_token(request: web.Request) -> str:
    """The form token of this browser: the cookie's, or a new one (set by ``remember_csrf``)."""
    token = request.cookies.get(CSRF) or request.get(CSRF)
    if not token:
        token = secrets.token_urlsafe(32)
        request[CSRF] = token
    return str(token)


def remember_csrf(request: web.Request, response: web.StreamResponse, secure: bool) -> None:
    if CSRF in request and not request.cookies.get(CSRF):
        response.set_cookie(CSRF, request[CSRF], httponly=True, samesite="Strict",
                            secure=secure, path="/")


async def check_csrf(request: web.Request) -> dict[str, str]:
    """The posted form, after checking its CSRF token; 403 if it does not match."""
    form = await request.post()
    sent = str(form.get("csrf", ""))
    cookie = request.cookies.get(CSRF, "")
    if not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
        raise web.HTTPForbidden(text="表单已过期，请刷新页面后重试。(CSRF token mismatch)")
    return {k: str(v) for k, v in form.items()}


def start(response: web.StreamResponse, token: str, lifetime: int, secure: bool) -> None:
    response.set_cookie(SESSION, token, httponly=True, samesite="Strict", secure=secure,
                        max_age=lifetime, path="/")


def end(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION, path="/")


Handler = Callable[[web.Request, Person], Awaitable[web.StreamResponse]]


def signed_in(*roles: str) -> Callable[[Handler], Callable[[web.Request],
                                                         Awaitable[web.StreamResponse]]]:
    """A page for these roles: anyone else is sent to sign in (no session) or refused (403)."""
    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def page(request: web.Request) -> web.StreamResponse:
            person = await current(request)
            if person is None:
                if request.headers.get("HX-Request"):
                    # htmx follows a redirect in place; tell it to load the login page whole.
                    return web.Response(status=204, headers={"HX-Redirect": "/login"})
                raise web.HTTPSeeOther(f"/login?next={request.path_qs}")
            if roles and person.role not in roles:
                raise web.HTTPForbidden(text="无权访问此页面")
            return await handler(request, person)
        return page
    return wrap
