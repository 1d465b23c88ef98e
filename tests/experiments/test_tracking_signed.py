"""The public click redirect and impression pixel cannot be used to inflate a creative.

Over the real app: a hit counts only when its link was signed by the app for that creative
and shopper and has not expired, and at most once per shopper and creative. The statistics
(``creative_metrics``, what evaluation reads) are the judge.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from connectors.storage import MediaStore
from experiments.metrics import creative_metrics
from experiments.tracking import tracking_links, verified_shopper
from reelcart.db import Database
from reelcart.settings import Settings
from reelcart.signing import settings_key
from tests.experiments.conftest import PRODUCTS

P1, P2 = PRODUCTS

BASE = "http://testserver"


@pytest.fixture
def client(db: Database, store: MediaStore, settings: Settings) -> Iterator[TestClient]:
    # Without the lifespan: the trackers need no start-up work (search warm-up, sweeps).
    yield TestClient(create_app(settings, db, store), follow_redirects=False)


def _key(settings: Settings) -> bytes:
    key = settings_key(settings, "tracking")
    assert key is not None
    return key


def _counts(db: Database, creative_id: str) -> tuple[int, int]:
    with db.session() as session:
        metrics = creative_metrics(session, [creative_id])[creative_id]
    return metrics.impressions, metrics.clickers


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_unsigned_and_forged_hits_are_served_but_never_counted(
    client: TestClient, db: Database, settings: Settings, campaign: dict
) -> None:
    cid = campaign[P1]["price"]
    other = campaign[P2]["price"]
    real = tracking_links(BASE, _key(settings), other, "ann", ttl_seconds=3600)
    expired = tracking_links(BASE, _key(settings), cid, "ann", ttl_seconds=-10)
    wrong_key = tracking_links(BASE, b"k" * 32, cid, "ann", ttl_seconds=3600)
    attempts = [
        *[f"/t/pixel/{cid}.gif?s=bot-{n}" for n in range(25)],  # a new "shopper" each time
        *[f"/t/pixel/{cid}.gif" for _ in range(10)],  # anonymous
        _path_and_query(real.pixel_url).replace(other, cid),  # another creative's link
        _path_and_query(expired.pixel_url),
        _path_and_query(wrong_key.pixel_url),
    ]
    for path in attempts:
        response = client.get(path)
        assert response.status_code == 200 and response.content.startswith(b"GIF89a")
        clicked = client.get(path.replace("/t/pixel/", "/t/click/").replace(".gif", "", 1))
        assert clicked.status_code == 302  # the shopper still lands on the product
    tampered = parse_qs(urlsplit(real.click_url).query)
    forged = f"/t/click/{other}?s=eve&e={tampered['e'][0]}&sig={tampered['sig'][0]}"
    assert client.get(forged).status_code == 302
    assert _counts(db, cid) == (0, 0)
    assert _counts(db, other) == (0, 0)


def test_a_signed_link_counts_once_per_shopper_and_creative(
    client: TestClient, db: Database, settings: Settings, campaign: dict
) -> None:
    cid = campaign[P1]["price"]
    links = tracking_links(BASE, _key(settings), cid, "ann", ttl_seconds=3600)
    for _ in range(10):
        assert client.get(_path_and_query(links.pixel_url)).status_code == 200
        assert client.get(_path_and_query(links.click_url)).status_code == 302
    assert _counts(db, cid) == (1, 1)
    bob = tracking_links(BASE, _key(settings), cid, "bob", ttl_seconds=3600)
    client.get(_path_and_query(bob.pixel_url))
    assert _counts(db, cid) == (2, 1)


def test_a_link_verifies_only_for_its_creative_shopper_and_lifetime() -> None:
    key = uuid.uuid4().bytes * 2
    now = time.time()
    links = tracking_links(BASE, key, "crv_1", "ann", ttl_seconds=60, now=now)
    query = {k: v[0] for k, v in parse_qs(urlsplit(links.click_url).query).items()}
    assert verified_shopper(key, "crv_1", query, now=now) == "ann"
    assert verified_shopper(key, "crv_2", query, now=now) is None
    assert verified_shopper(key, "crv_1", query | {"s": "bob"}, now=now) is None
    assert verified_shopper(key, "crv_1", query | {"e": str(int(now) + 10**6)}, now=now) is None
    assert verified_shopper(key, "crv_1", query, now=now + 61) is None
    assert verified_shopper(None, "crv_1", query, now=now) is None


def test_a_nul_in_a_tracked_creative_id_is_not_a_server_error(
    client: TestClient, campaign: dict
) -> None:
    assert client.get("/t/pixel/crv%00x.gif").status_code == 400
    assert client.get("/t/click/crv%00x").status_code == 400
    too_long = "crv_" + "x" * 300
    assert client.get(f"/t/pixel/{too_long}.gif").status_code == 200  # a GIF, nothing counted
    assert client.get(f"/t/click/{too_long}").status_code == 404


def test_tracking_path_keeps_the_creative_id_exact(tmp_path: Path) -> None:
    links = tracking_links(BASE, b"k" * 32, "crv/../x", "ann", ttl_seconds=60)
    assert "/t/click/crv%2F..%2Fx?" in links.click_url
