"""Bad input at the HTTP edges gets a clear 4xx in the protocol's shape, never a 500.

A probe over the whole app (``create_app``: ACP REST, media, health, Shopify webhooks) on
SQLite and PostgreSQL. ACP errors are checked against the spec's own ``Error`` schema, and
afterwards the database is read to show nothing was stored from a refused request. The
database going away is a real outage: PostgreSQL behind a loopback TCP proxy that is cut,
SQLite whose file can no longer be opened.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from app.asgi import create_app
from connectors.shopify.webhook import sign_webhook
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.models import Base, CheckoutSession, Event, ProductImage
from reelcart.settings import Settings
from tests.app.ucp.test_ucp_schemas import _validate as _validate_ucp
from tests.commerce.acp_helpers import MUG, create_body, headers, stock_shop, validate
from tests.factories import add_published_creatives

SECRET = "shpss_edge"


def _settings(settings: Settings, **extra: Any) -> Settings:
    return Settings.model_validate(
        settings.model_dump() | {"api_token": "test-token", "shopify_api_secret": SECRET} | extra
    )


@pytest.fixture
def client(db: Database, store: MediaStore, settings: Settings, tmp_path: Path) -> Iterator[Any]:
    stock_shop(db, store, tmp_path / "shop")
    # Without the lifespan: these doors need no start-up work (search warm-up, sweeps).
    yield TestClient(create_app(_settings(settings), db, store), raise_server_exceptions=False)


def _raw(body: str) -> dict[str, Any]:
    return {"content": body.encode(), "headers": headers() | {"Content-Type": "application/json"}}


def _deep(levels: int) -> str:
    return '{"metadata": {"a": ' + "[" * levels + "]" * levels + "}}"


def _with(**changes: Any) -> str:
    return json.dumps(create_body() | changes)


def _create_with_items(*items: Any) -> str:
    return json.dumps(create_body() | {"line_items": list(items)})


LONG = "cs_" + "a" * 5000
# (name, method, path, request kwargs, status, param)
CASES: list[tuple[str, str, str, dict[str, Any], int, str | None]] = [
    ("nested 300 levels", "POST", "/checkout_sessions", _raw(_deep(300)), 400, None),
    ("nested 5000 levels", "POST", "/checkout_sessions", _raw(_deep(5000)), 400, None),
    (
        "lone surrogate in a value",
        "POST",
        "/checkout_sessions",
        _raw(_with(buyer={"email": "a@b.co", "first_name": "x"}).replace('"x"', '"\\ud800"')),
        400,
        "$.buyer.first_name",
    ),
    (
        "lone surrogate in a key",
        "POST",
        "/checkout_sessions",
        _raw(_with(metadata={"k": 1}).replace('"k"', '"\\udfff"')),
        400,
        "$.metadata",
    ),
    (
        "interventions not an object",
        "POST",
        "/checkout_sessions",
        _raw(_with(capabilities={"interventions": "3ds"})),
        400,
        "$.capabilities.interventions",
    ),
    (
        "interventions.supported not a list",
        "POST",
        "/checkout_sessions",
        _raw(_with(capabilities={"interventions": {"supported": 5}})),
        400,
        "$.capabilities.interventions.supported",
    ),
    (
        "interventions.supported holds objects",
        "POST",
        "/checkout_sessions",
        _raw(_with(capabilities={"interventions": {"supported": [{}]}})),
        400,
        "$.capabilities.interventions.supported[0]",
    ),
    (
        "NUL in an item id",
        "POST",
        "/checkout_sessions",
        _raw(_create_with_items({"id": "gid\u0000x"})),
        400,
        "$.line_items[0].id",
    ),
    ("NUL in a session id (GET)", "GET", "/checkout_sessions/cs_a%00b", {}, 400, None),
    ("NUL in a session id (POST)", "POST", "/checkout_sessions/cs_a%00b", _raw("{}"), 400, None),
    ("NUL in an order id", "GET", "/orders/ord%00", {}, 400, None),
    ("path longer than a column (GET)", "GET", f"/checkout_sessions/{LONG}", {}, 400, "$.id"),
    (
        "path longer than a column (update)",
        "POST",
        f"/checkout_sessions/{LONG}",
        _raw("{}"),
        400,
        "$.id",
    ),
    (
        "path longer than a column (complete)",
        "POST",
        f"/checkout_sessions/{LONG}/complete",
        _raw("{}"),
        400,
        "$.id",
    ),
    (
        "quantity true",
        "POST",
        "/checkout_sessions",
        _raw(_create_with_items({"id": MUG, "quantity": True})),
        400,
        "$.line_items[0].quantity",
    ),
    (
        'quantity "3"',
        "POST",
        "/checkout_sessions",
        _raw(_create_with_items({"id": MUG, "quantity": "3"})),
        400,
        "$.line_items[0].quantity",
    ),
    (
        "quantity 2.0",
        "POST",
        "/checkout_sessions",
        _raw(_create_with_items({"id": MUG, "quantity": 2.0})),
        400,
        "$.line_items[0].quantity",
    ),
    (
        "metadata over its cap",
        "POST",
        "/checkout_sessions",
        _raw(_with(metadata={"blob": "x" * 20_000})),
        400,
        "$.metadata",
    ),
    (
        "body over the limit (declared)",
        "POST",
        "/checkout_sessions",
        _raw(_with(metadata={"blob": "x" * 1_100_000})),
        413,
        None,
    ),
]


def test_bad_acp_input_is_a_4xx_in_the_error_shape(client: TestClient, db: Database) -> None:
    # One app per backend for every case: each answer is checked, all problems reported.
    problems = []
    for name, method, path, kwargs, status, param in CASES:
        if method == "GET":
            response = client.get(path, headers=headers(None))
        else:
            response = client.post(path, **kwargs)
        body = response.json() if "json" in response.headers.get("content-type", "") else {}
        try:
            assert response.status_code == status, response.text[:300]
            validate("Error", body)
            assert body["type"] == "invalid_request"
            assert param is None or body.get("param") == param, body
        except Exception as exc:
            problems.append(f"{name}: {exc}")
    assert problems == []
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(CheckoutSession)) == 0


def test_a_streamed_body_is_cut_off_at_the_limit(client: TestClient, db: Database) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        # No Content-Length: the server must count while reading, not trust a header.
        nonlocal sent
        yield b'{"metadata": {"blob": "'
        for _ in range(64):
            sent += 1
            yield b"x" * 65_536
        yield b'"}}'

    response = client.post(
        "/checkout_sessions",
        content=chunks(),
        headers=headers() | {"Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    validate("Error", response.json())
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(CheckoutSession)) == 0


def test_a_media_folder_is_not_found_and_files_still_are(client: TestClient, db: Database) -> None:
    for path in ["/media/images", "/media/images/"]:
        response = client.get(path)
        assert response.status_code == 404, (path, response.text)
    assert client.get("/media/images/%00").status_code == 400
    with db.session() as session:
        key = session.scalars(select(ProductImage.media_key)).first()
    assert key
    response = client.get(f"/media/{key}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"


MCP_HEADERS = {
    "Authorization": "Bearer test-token",
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
}


def test_other_doors_refuse_bad_input_in_their_own_shape(client: TestClient) -> None:
    # MCP: JSON-RPC's parse error, before the SDK's unbounded parser sees the body.
    for body in (
        "[" * 5000 + "]" * 5000,
        '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": '
        '{"name": "search_products", "arguments": {"query": "\\ud800"}}}',
    ):
        for door in ("/mcp", "/ucp/mcp"):  # the catalog tools and UCP's MCP binding
            response = client.post(door, content=body, headers=MCP_HEADERS)
            assert response.status_code == 400, (door, response.text)
            assert response.json()["error"]["code"] == -32700
    # Report pages and event ingestion: a NUL never reaches PostgreSQL.
    page = client.get("/reports/campaigns/a%00b", headers=MCP_HEADERS)
    assert page.status_code == 400 and page.json()["error"] == "invalid_path"
    events = client.post(
        "/events",
        json={"events": [{"event_id": "a\u0000b", "kind": "click", "subject": "s\u0000"}]},
        headers=MCP_HEADERS,
    )
    assert events.status_code == 200 and events.json()["results"][0]["status"] == "rejected"


def _hook(client: TestClient, payload: bytes, delivery: str) -> Any:
    return client.post(
        "/webhooks/shopify",
        content=payload,
        headers={
            "X-Shopify-Hmac-Sha256": sign_webhook(payload, SECRET),
            "X-Shopify-Webhook-Id": delivery,
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": "edge.myshopify.com",
        },
    )


def test_a_shopify_order_with_an_impossible_total_is_kept_without_an_amount(
    client: TestClient, db: Database
) -> None:
    totals = ['"1e400"', "1e400", '"-5"', '"NaN"', '"24.00"']
    add_published_creatives(db, "gid://shopify/Product/1", {"crv_edge": "a"})
    for n, total in enumerate(totals):
        payload = (
            f'{{"id": {n}, "currency": "USD", "total_price": {total}, "landing_site": '
            '"/products/mug?rc_creative=crv_edge", "line_items": [{"product_id": 1}]}'
        ).encode()
        response = _hook(client, payload, f"delivery-{n}")
        assert response.status_code == 200, (total, response.text)
    with db.session() as session:
        events = session.scalars(
            select(Event).where(Event.creative_id == "crv_edge").order_by(Event.subject)
        ).all()
    # Every order is kept (nothing lost); only a real price becomes revenue.
    assert [(e.kind, e.amount_minor) for e in events] == [("purchase", None)] * 4 + [
        ("purchase", 2400)
    ]


# --- the database goes away ---


class _CuttableProxy:
    """A loopback TCP proxy to PostgreSQL that can drop every connection and refuse new ones."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.up = True
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def _assert_unavailable(client: TestClient) -> None:
    response = client.post("/checkout_sessions", json=create_body(), headers=headers())
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    validate("Error", response.json())
    assert response.json()["type"] == "service_unavailable"
    got = client.get("/checkout_sessions/cs_missing", headers=headers(None))
    assert got.status_code == 503 and "Retry-After" in got.headers
    health = client.get("/healthz")
    assert health.status_code == 503, health.text
    assert health.json()["status"] != "ok" and "Retry-After" in health.headers


def test_postgres_down_is_503_with_retry_after_and_not_ready(
    postgres_url: str, settings: Settings, tmp_path: Path
) -> None:
    url = make_url(postgres_url)
    proxy = _CuttableProxy((url.host or "127.0.0.1", url.port or 5432))
    db = Database(url.set(port=proxy.port).render_as_string(hide_password=False))
    store = MediaStore(str(tmp_path / "media"), "http://127.0.0.1:8787")
    try:
        stock_shop(db, store, tmp_path / "shop")
        with TestClient(
            create_app(_settings(settings), db, store), raise_server_exceptions=False
        ) as client:
            assert client.get("/healthz").status_code == 200
            proxy.cut()
            _assert_unavailable(client)
            proxy.restore()
            assert client.get("/healthz").status_code == 200
            created = client.post("/checkout_sessions", json=create_body(), headers=headers())
            assert created.status_code == 201, created.text
    finally:
        db.dispose()
        proxy.close()
        cleanup = Database(postgres_url)
        with cleanup.engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
        cleanup.dispose()


def test_sqlite_unreachable_is_503_with_retry_after_and_not_ready(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "db"
    db = Database(f"sqlite:///{folder / 'reelcart.db'}")
    db.migrate()
    store = MediaStore(str(tmp_path / "media"), "http://127.0.0.1:8787")
    stock_shop(db, store, tmp_path / "shop")
    with TestClient(
        create_app(_settings(settings), db, store), raise_server_exceptions=False
    ) as client:
        assert client.get("/healthz").status_code == 200
        # The volume goes away: the file can no longer be opened by any new connection.
        db.engine.dispose()
        shutil.rmtree(folder)
        folder.write_text("not a folder")
        _assert_unavailable(client)
    db.dispose()


def test_a_body_over_the_limit_is_refused_in_each_protocols_shape(client: TestClient) -> None:
    # Refused by the size guard in front of every route, from the declared length alone.
    oversized = b'{"blob": "' + b"x" * 1_100_000 + b'"}'
    ucp_agent = {"UCP-Agent": 'profile="https://platform.example/profile"'}
    json_type = {"Content-Type": "application/json"}
    for method, path, extra in (
        ("POST", "/checkout-sessions", ucp_agent),
        ("POST", "/catalog/search", ucp_agent),
        ("PUT", "/orders/ord_1", ucp_agent),  # a path ACP serves too: the header decides
    ):
        response = client.request(method, path, content=oversized, headers=json_type | extra)
        assert response.status_code == 413, (path, response.text[:200])
        body = response.json()
        # UCP's REST error: the spec examples' code/content beside the error metadata.
        _validate_ucp(
            "schemas/shopping/types/error_response.json",
            {"ucp": body["ucp"], "messages": body["messages"]},
        )
        assert body["code"] == body["messages"][0]["code"] == "request_too_large", body
        assert set(body) == {"ucp", "code", "content", "messages"}
    acp = client.request("PUT", "/orders/ord_1", content=oversized, headers=headers() | json_type)
    assert acp.status_code == 413
    validate("Error", acp.json())
