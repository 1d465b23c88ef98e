"""Sign-in for people: the report pages open in a browser; the cookie never acts."""

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, request_response
from starlette.testclient import TestClient

from app.http_auth import COOKIE_NAME, BearerAuth, login_routes

TOKEN = "s3cret-token"


async def _page_endpoint(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"{request.method} ok")


_page = request_response(_page_endpoint)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = Starlette(
        routes=[
            *login_routes(TOKEN),
            Route(
                "/reports/x", BearerAuth(_page, TOKEN, allow_cookie=True), methods=["GET", "POST"]
            ),
            Route("/api", BearerAuth(_page, TOKEN), methods=["GET"]),
        ]
    )
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)


def test_browser_is_sent_to_sign_in_and_back(client: TestClient) -> None:
    first = client.get("/reports/x")
    assert first.status_code == 303 and first.headers["location"] == "/login?next=/reports/x"
    assert "REELCART_API_TOKEN" in client.get("/login?next=/reports/x").text
    wrong = client.post("/login", data={"token": "nope", "next": "/reports/x"})
    assert wrong.status_code == 401 and COOKIE_NAME not in wrong.cookies
    signed = client.post("/login", data={"token": TOKEN, "next": "/reports/x"})
    assert signed.status_code == 303 and signed.headers["location"] == "/reports/x"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/reports/x").text == "GET ok"


def test_cookie_never_authorises_a_state_changing_request(client: TestClient) -> None:
    client.post("/login", data={"token": TOKEN, "next": "/"})
    assert client.post("/reports/x").status_code == 401
    assert client.post("/reports/x", headers={"Authorization": f"Bearer {TOKEN}"}).text == "POST ok"


def test_cookie_only_where_allowed(client: TestClient) -> None:
    client.post("/login", data={"token": TOKEN, "next": "/"})
    assert client.get("/api").status_code == 401


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example", "javascript:x"])
def test_no_open_redirect(client: TestClient, target: str) -> None:
    signed = client.post("/login", data={"token": TOKEN, "next": target})
    assert signed.headers["location"] == "/"


def test_no_token_configured_refuses_everyone() -> None:
    app = Starlette(
        routes=[*login_routes(None), Route("/r", BearerAuth(_page, None, allow_cookie=True))]
    )
    client = TestClient(app, follow_redirects=False)
    assert client.post("/login", data={"token": ""}).status_code == 401
    assert client.get("/r", headers={"Authorization": "Bearer x"}).status_code == 303
