"""Bearer-token protection for the app's HTTP endpoints, and a sign-in for people.

Agents send ``Authorization: Bearer <token>``. Marketers open the report pages in a browser,
which cannot send that header, so ``/login`` trades the token for an HttpOnly, SameSite=Strict
cookie that is accepted on read-only requests (GET, HEAD) only: a cookie can never make a
state-changing request, so it opens no cross-site request forgery.
"""

from __future__ import annotations

import hmac
import json
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["COOKIE_NAME", "BearerAuth", "login_routes"]

COOKIE_NAME = "reelcart_token"
_READ_ONLY = {"GET", "HEAD"}


def _matches(supplied: str, token: bytes | None) -> bool:
    return token is not None and hmac.compare_digest(supplied.strip().encode(), token)


def _cookie(headers: dict[bytes, bytes]) -> str:
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE_NAME:
            return value
    return ""


class BearerAuth:
    """ASGI middleware: requests need ``Authorization: Bearer <token>`` (constant-time check).

    With ``allow_cookie`` a GET or HEAD may instead carry the sign-in cookie. With no token
    configured every request is refused: an acting endpoint is never open by accident.
    """

    def __init__(self, app: ASGIApp, token: str | None, *, allow_cookie: bool = False) -> None:
        self.app = app
        self._token = token.encode() if token else None
        self._allow_cookie = allow_cookie

    def _authorised(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        scheme, _, supplied = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and _matches(supplied, self._token):
            return True
        return (
            self._allow_cookie
            and scope.get("method") in _READ_ONLY
            and _matches(_cookie(headers), self._token)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        if self._allow_cookie and scope.get("method") in _READ_ONLY:
            # A person at a browser: send them to sign in, then back here.
            target = quote(scope.get("path", "/"))
            response: Response = RedirectResponse(f"/login?next={target}", status_code=303)
            await response(scope, receive, send)
            return
        body = json.dumps(
            {"error": "unauthorized", "message": "a valid bearer token is required"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="reelcart"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>reelcart sign-in</title>
<style>body{{font-family:system-ui,sans-serif;margin:64px auto;max-width:420px}}
input{{width:100%;padding:8px;margin:8px 0}}.err{{color:#b00020}}</style></head><body>
<h1>reelcart</h1><p>Paste the API token (<code>REELCART_API_TOKEN</code>) to see reports.</p>
{error}<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<input type="password" name="token" autocomplete="current-password" autofocus>
<input type="submit" value="Sign in"></form></body></html>"""


def _safe_next(value: str) -> str:
    # Only same-site paths: never an open redirect to another host.
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value


def login_routes(token: str | None, *, secure_cookie: bool = False) -> list[Route]:
    """``GET /login`` (a form) and ``POST /login`` (sets the cookie when the token matches)."""
    expected = token.encode() if token else None

    async def form(request: Request) -> Response:
        nxt = _safe_next(request.query_params.get("next", "/"))
        return HTMLResponse(_FORM.format(error="", next=quote(nxt, safe="/")))

    async def submit(request: Request) -> Response:
        data = await request.form()
        nxt = _safe_next(str(data.get("next") or "/"))
        supplied = str(data.get("token") or "")
        if not _matches(supplied, expected):
            error = '<p class="err">That token is not right.</p>'
            html = _FORM.format(error=error, next=quote(nxt, safe="/"))
            return HTMLResponse(html, status_code=401)
        response = RedirectResponse(nxt, status_code=303)
        response.set_cookie(
            COOKIE_NAME,
            supplied,
            httponly=True,
            samesite="strict",
            secure=secure_cookie,
            max_age=8 * 3600,
        )
        return response

    return [
        Route("/login", form, methods=["GET"]),
        Route("/login", submit, methods=["POST"]),
    ]
