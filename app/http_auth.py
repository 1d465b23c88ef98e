"""Bearer-token protection for the app's HTTP endpoints, and a sign-in for people.

Agents send ``Authorization: Bearer <token>``. Marketers open the report pages in a browser,
which cannot send that header, so ``/login`` trades the token for an HttpOnly, SameSite=Strict
cookie that is accepted on read-only requests (GET, HEAD) only: a cookie can never make a
state-changing request, so it opens no cross-site request forgery. The cookie is a signed,
expiring session value (HMAC under a key derived from the signing secret), never the token:
a leaked cookie dies with its expiry and reveals nothing that opens the API. ``POST /login``
is rate-limited per client address, so the token cannot be guessed at speed.
"""

from __future__ import annotations

import hmac
import math
import secrets
import time
from collections import deque
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reelcart.signing import derive_key, sign, verify

__all__ = [
    "COOKIE_NAME",
    "SESSION_SECONDS",
    "AttemptLimiter",
    "BearerAuth",
    "issue_session",
    "login_routes",
    "session_valid",
]

COOKIE_NAME = "reelcart_session"
SESSION_SECONDS = 8 * 3600
_READ_ONLY = {"GET", "HEAD"}


def _default_key(token: str | None) -> bytes | None:
    return derive_key(token, "session") if token else None


def issue_session(key: bytes, now: float | None = None, ttl: int = SESSION_SECONDS) -> str:
    """A new session value: ``expiry.nonce.signature``."""
    body = f"{int((now or time.time()) + ttl)}.{secrets.token_urlsafe(12)}"
    return f"{body}.{sign(key, 'session:' + body)}"


def session_valid(value: str, key: bytes | None, now: float | None = None) -> bool:
    """True for an unexpired session value signed with ``key``."""
    expiry, _, rest = value.partition(".")
    nonce, _, signature = rest.partition(".")
    if not (expiry.isdigit() and nonce and signature):
        return False
    body = f"{expiry}.{nonce}"
    return verify(key, "session:" + body, signature) and int(expiry) > (now or time.time())


class AttemptLimiter:
    """At most ``limit`` attempts per client in any ``window`` seconds (in this process)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = {}

    def retry_after(self, client: str, now: float | None = None) -> int | None:
        """Count an attempt; seconds to wait when it is one too many, else ``None``."""
        now = time.monotonic() if now is None else now
        if len(self._seen) > 10_000:  # forget idle clients so memory stays bounded
            self._seen = {c: q for c, q in self._seen.items() if q and q[-1] > now - self.window}
        attempts = self._seen.setdefault(client, deque())
        while attempts and attempts[0] <= now - self.window:
            attempts.popleft()
        if len(attempts) >= self.limit:
            return max(1, math.ceil(attempts[0] + self.window - now))
        attempts.append(now)
        return None


def token_matches(supplied: str, token: bytes | None) -> bool:
    """Constant-time comparison with the configured token (none configured: no match)."""
    return token is not None and hmac.compare_digest(supplied.strip().encode(), token)


def bearer_matches(authorization: str, token: bytes | None) -> bool:
    """An ``Authorization`` header value that carries the configured bearer token."""
    scheme, _, supplied = authorization.partition(" ")
    return scheme.lower() == "bearer" and token_matches(supplied, token)


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

    def __init__(
        self,
        app: ASGIApp,
        token: str | None,
        *,
        allow_cookie: bool = False,
        session_key: bytes | None = None,
    ) -> None:
        self.app = app
        self._token = token.encode() if token else None
        self._allow_cookie = allow_cookie
        self._session_key = session_key or _default_key(token)

    def _authorised(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        if bearer_matches(headers.get(b"authorization", b"").decode("latin-1"), self._token):
            return True
        return (
            self._allow_cookie
            and scope.get("method") in _READ_ONLY
            and self._token is not None
            and session_valid(_cookie(headers), self._session_key)
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
        refused = JSONResponse(
            {"error": "unauthorized", "message": "a valid bearer token is required"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="reelcart"'},
        )
        await refused(scope, receive, send)


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


def login_routes(
    token: str | None,
    *,
    secure_cookie: bool = False,
    session_key: bytes | None = None,
    attempts_per_minute: int = 5,
) -> list[Route]:
    """``GET /login`` (a form) and ``POST /login`` (sets the cookie when the token matches)."""
    expected = token.encode() if token else None
    key = session_key or _default_key(token)
    limiter = AttemptLimiter(attempts_per_minute)

    async def form(request: Request) -> Response:
        nxt = _safe_next(request.query_params.get("next", "/"))
        return HTMLResponse(_FORM.format(error="", next=quote(nxt, safe="/")))

    async def submit(request: Request) -> Response:
        wait = limiter.retry_after(request.client.host if request.client else "unknown")
        if wait is not None:
            return HTMLResponse(
                "<!doctype html><p>Too many sign-in attempts; try again in a minute.</p>",
                status_code=429,
                headers={"Retry-After": str(wait)},
            )
        data = await request.form()
        nxt = _safe_next(str(data.get("next") or "/"))
        supplied = str(data.get("token") or "")
        if not token_matches(supplied, expected) or key is None:
            error = '<p class="err">That token is not right.</p>'
            html = _FORM.format(error=error, next=quote(nxt, safe="/"))
            return HTMLResponse(html, status_code=401)
        response = RedirectResponse(nxt, status_code=303)
        response.set_cookie(
            COOKIE_NAME,
            issue_session(key),
            httponly=True,
            samesite="strict",
            secure=secure_cookie,
            max_age=SESSION_SECONDS,
        )
        return response

    return [
        Route("/login", form, methods=["GET"]),
        Route("/login", submit, methods=["POST"]),
    ]
