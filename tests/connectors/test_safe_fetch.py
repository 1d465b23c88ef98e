"""Catalog images cannot reach inside: no local files, no internal addresses, bounded bodies.

A real HTTP server on loopback plays both the internal service a catalog must not reach and,
when a test allows its host explicitly, the public CDN. Name resolution for made-up host
names goes through a resolver stand-in with ``getaddrinfo``'s contract.
"""

from __future__ import annotations

import io
import ipaddress
import json
import random
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from commerce.catalog.store import sync_snapshot
from connectors import safe_fetch
from connectors.catalog_file import CatalogFileError, load_catalog_file
from connectors.safe_fetch import FetchError, FetchPolicy, fetch_image, is_public_address
from connectors.storage import MediaStore
from reelcart.db import Database
from reelcart.domain import CatalogSnapshot
from reelcart.models import ProductImage
from reelcart.settings import get_settings
from tests.factories import make_product, write_catalog


def _png(size: int = 32) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


NOISE = io.BytesIO()
Image.frombytes("RGB", (200, 200), random.Random(7).randbytes(200 * 200 * 3)).save(NOISE, "PNG")


class _Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]]

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Host", "")))  # type: ignore[attr-defined]
        routes: dict[str, tuple[int, dict[str, str], bytes]] = {
            "/ok.png": (200, {"Content-Type": "image/png"}, _png()),
            "/page": (200, {"Content-Type": "text/html"}, b"<html>secret</html>"),
            "/fake.png": (200, {"Content-Type": "image/png"}, b"root:x:0:0:root:/root:/bin/sh\n"),
            "/huge.png": (200, {"Content-Type": "image/png"}, NOISE.getvalue()),
            "/huge-unsized.png": (200, {"Content-Type": "image/png"}, NOISE.getvalue()),
            "/to-internal": (
                302,
                {"Location": f"http://127.0.0.1:{self.server.server_port}/ok.png"},
                b"",
            ),  # type: ignore[attr-defined]
        }
        status, headers, body = routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "unsized" not in self.path:  # else the body ends when the connection closes
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def no_allowlist(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The production default: nothing but public addresses.
    monkeypatch.setenv("REELCART_FETCH_ALLOW_HOSTS", "")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _resolver(names: dict[str, list[str]]) -> Any:
    """``getaddrinfo`` for made-up names (each call answers the next list, the last sticks)."""
    calls: dict[str, int] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in names:
            return real(host, port, *args, **kwargs)
        answers = names[host]
        ip = answers[min(calls.get(host, 0), len(answers) - 1)]
        calls[host] = calls.get(host, 0) + 1
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (ip, port))]

    getaddrinfo.calls = calls  # type: ignore[attr-defined]
    return getaddrinfo


def _url(server: ThreadingHTTPServer, path: str, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{server.server_port}{path}"


# --- the address rule, against the IANA special-purpose registries ---


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata (AWS, GCP, Azure)
        "100.64.0.1",  # CGNAT, RFC 6598
        "0.0.0.0",
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:db8::1",  # documentation
    ],
)
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "151.101.1.1", "2606:4700::1111", "2a00:1450::1"])
def test_public_addresses_are_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


# --- the guarded fetch over real HTTP ---


@pytest.mark.usefixtures("no_allowlist")
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/ok.png",
        "http://localhost:{port}/ok.png",
        "http://[::ffff:127.0.0.1]:{port}/ok.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "file:///etc/passwd",
        "ftp://127.0.0.1/x.png",
        "http://user:pw@example.com/x.png",
    ],
)
def test_internal_and_non_http_urls_are_refused_before_any_request(
    server: ThreadingHTTPServer, tmp_path: Path, url: str
) -> None:
    with pytest.raises(FetchError):
        fetch_image(url.format(port=server.server_port), tmp_path)
    assert server.seen == []  # type: ignore[attr-defined]
    assert list(tmp_path.iterdir()) == []


def test_connection_goes_to_the_checked_address_with_the_name_kept(
    server: ThreadingHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolver = _resolver({"cdn.test": ["127.0.0.1"]})
    monkeypatch.setattr(safe_fetch.socket, "getaddrinfo", resolver)
    policy = FetchPolicy(allow_hosts=frozenset({"cdn.test"}))
    path = fetch_image(_url(server, "/ok.png", "cdn.test"), tmp_path, policy)
    assert path.read_bytes() == _png() and path.suffix == ".png"
    assert server.seen == [("/ok.png", f"cdn.test:{server.server_port}")]  # type: ignore[attr-defined]
    assert resolver.calls == {"cdn.test": 1}  # resolved once, not again by the HTTP client


def test_dns_rebinding_cannot_swap_in_an_internal_address(
    server: ThreadingHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # First answer public (it passes the check), every later answer loopback.
    resolver = _resolver({"rebind.test": ["203.0.113.7", "127.0.0.1"]})
    monkeypatch.setattr(safe_fetch.socket, "getaddrinfo", resolver)
    policy = FetchPolicy(timeout_s=0.5)
    with pytest.raises(FetchError):
        fetch_image(_url(server, "/ok.png", "rebind.test"), tmp_path, policy)
    assert server.seen == []  # type: ignore[attr-defined]


def test_every_redirect_hop_is_checked(
    server: ThreadingHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(safe_fetch.socket, "getaddrinfo", _resolver({"cdn.test": ["127.0.0.1"]}))
    policy = FetchPolicy(allow_hosts=frozenset({"cdn.test"}))
    with pytest.raises(FetchError, match="not a public address"):
        fetch_image(_url(server, "/to-internal", "cdn.test"), tmp_path, policy)
    assert [p for p, _ in server.seen] == ["/to-internal"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/page", "not an image"),
        ("/fake.png", "not a decodable image"),
        ("/huge.png", "larger"),
        ("/huge-unsized.png", "larger"),
    ],
)
def test_body_must_be_a_bounded_decodable_image(
    server: ThreadingHTTPServer, tmp_path: Path, path: str, why: str
) -> None:
    policy = FetchPolicy(allow_hosts=frozenset({"127.0.0.1"}), max_bytes=20_000)
    with pytest.raises(FetchError, match=why):
        fetch_image(_url(server, path), tmp_path, policy)
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


# --- catalogs: what the sync copies into the public media store ---


def _stored(db: Database) -> list[str]:
    with db.session() as session:
        return [i.source_url for i in session.query(ProductImage).all()]


@pytest.mark.usefixtures("no_allowlist")
def test_sync_never_copies_an_internal_url_into_the_media_store(
    db: Database, store: MediaStore, server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    product = make_product(1)
    product["images"] = [{"id": "img1", "url": _url(server, "/ok.png")}]
    with pytest.raises(FetchError), db.session() as session:
        sync_snapshot(session, CatalogSnapshot.model_validate(_catalog([product])), store)
    assert server.seen == []  # type: ignore[attr-defined]
    assert _stored(db) == []
    assert not list(Path(store.root).rglob("*.png"))


@pytest.mark.parametrize(
    "url",
    ["/etc/passwd", "file:///etc/passwd", "../../secret.png", "a/../../secret.png", "C:\\x.png"],
)
def test_catalog_file_cannot_name_a_file_outside_its_folder(tmp_path: Path, url: str) -> None:
    (tmp_path / "secret.png").write_bytes(_png())
    folder = tmp_path / "shop" / "export"
    path = write_catalog(folder, [make_product(1)])
    data = path.read_text().replace('"p1-0.png"', '"' + url.replace("\\", "\\\\") + '"')
    path.write_text(data)
    with pytest.raises(CatalogFileError, match=r"images\[0\]\.url"):
        load_catalog_file(path)


def test_catalog_file_symlink_out_of_its_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes(_png())
    folder = tmp_path / "export"
    path = write_catalog(folder, [make_product(1)])
    (folder / "p1-0.png").unlink()
    (folder / "p1-0.png").symlink_to(tmp_path / "secret.png")
    with pytest.raises(CatalogFileError, match="leaves the catalog's folder"):
        load_catalog_file(path)


def test_catalog_file_photos_beside_it_still_sync(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    product = make_product(1)
    product["images"] = [{"id": "img1", "url": "photos/p1.png"}]
    folder = tmp_path / "export"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "p1.png").write_bytes(_png())
    path = write_catalog(folder, [product])
    with db.session() as session:
        report = sync_snapshot(session, load_catalog_file(path), store)
    assert report.images_stored == 1


def test_a_shopify_catalog_never_reads_a_local_path(
    db: Database, store: MediaStore, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(_png())
    product = make_product(1)
    product["images"] = [{"id": "img1", "url": str(secret)}]
    snapshot = CatalogSnapshot.model_validate(_catalog([product]))
    with pytest.raises(FetchError), db.session() as session:
        sync_snapshot(session, snapshot, store, source="shopify")
    assert _stored(db) == []


def _catalog(products: list[dict[str, object]]) -> dict[str, object]:
    return {"shop": {"name": "S", "currencyCode": "USD"}, "products": products}


def test_cli_sync_of_a_catalog_naming_the_metadata_service_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from app.cli import app

    monkeypatch.setenv("REELCART_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REELCART_FETCH_ALLOW_HOSTS", "")
    monkeypatch.delenv("REELCART_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    product = make_product(1)
    product["images"] = [{"id": "img1", "url": "http://169.254.169.254/latest/meta-data/"}]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(_catalog([product])))
    try:
        result = CliRunner().invoke(app, ["sync", "--file", str(path)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "not a public address" in " ".join(result.output.split())
    assert not list((tmp_path / "data").rglob("*.png"))
