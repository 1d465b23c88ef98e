"""The fake shop's state: products, media, staged uploads, bulk operations, orders, the
leaky bucket and injected faults. The server (``shopify_server``) exposes it over HTTP.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.shopify.client import Clock, SystemClock

__all__ = ["FakeShopState", "Fault", "LeakyBucket", "decode_cursor", "encode_cursor", "gid_num"]


def gid_num(gid: str) -> int:
    """``gid://shopify/Product/12`` → 12."""
    return int(gid.rsplit("/", 1)[-1])


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as exc:
        raise ValueError("Invalid cursor for current pagination sort.") from exc
    if not isinstance(value, list):
        raise ValueError("Invalid cursor for current pagination sort.")
    return value


class LeakyBucket:
    """Shopify's cost bucket: ``maximum`` points, refilled at ``restore_rate`` points/s."""

    def __init__(self, maximum: float, restore_rate: float, clock: Clock) -> None:
        self.maximum = maximum
        self.restore_rate = restore_rate
        self.clock = clock
        self._available = maximum
        self._at = clock.monotonic()

    def available(self) -> float:
        now = self.clock.monotonic()
        self._available = min(self.maximum, self._available + self.restore_rate * (now - self._at))
        self._at = now
        return self._available

    def take(self, points: float) -> bool:
        if self.available() < points:
            return False
        self._available -= points
        return True

    def refund(self, points: float) -> None:
        self._available = min(self.maximum, self.available() + points)

    def status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": int(self.available()),
            "restoreRate": self.restore_rate,
        }


@dataclass
class Fault:
    """An injected failure for the next GraphQL request(s) after ``after`` clean ones."""

    kind: str  # "status", "timeout", "429", "throttled"
    times: int = 1
    after: int = 0
    status: int = 503
    delay_s: float = 2.0
    retry_after_s: float = 1.0


@dataclass
class Ledger:
    """Throttle accounting for the benchmark: points charged over the bucket's budget."""

    requests: int = 0
    throttled: int = 0
    points_charged: float = 0.0
    first_at: float | None = None
    last_at: float | None = None

    def budget(self, bucket: LeakyBucket) -> float:
        if self.first_at is None or self.last_at is None:
            return 0.0
        return bucket.maximum + bucket.restore_rate * (self.last_at - self.first_at)


@dataclass
class FakeShopState:
    """Everything the fake store holds; all access goes through ``lock``."""

    clock: Clock = field(default_factory=SystemClock)
    name: str = "Fake Shop"
    domain: str = "fake-shop.myshopify.com"
    currency: str = "USD"
    access_token: str = "shpat_test_token"
    api_secret: str = "shpss_test_secret"
    # A Dev Dashboard app installed on this store: its client ID (the secret is api_secret)
    # and the tokens the client credentials grant issued, with their expiry (clock time).
    client_id: str = "fake-client-id"
    token_lifetime_s: float = 86399.0
    issued_tokens: dict[str, float] = field(default_factory=dict)
    restore_rate: float = 100.0
    maximum: float = 2000.0
    bulk_objects_per_s: float = 1000.0
    video_processing_s: float = 0.5
    base_url: str = ""
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    staged: dict[str, dict[str, Any]] = field(default_factory=dict)
    bulk_ops: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Code discounts and customers (see tests.fakes.shopify_store), by gid.
    discounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    broken_images: set[str] = field(default_factory=set)
    fail_next_bulk: bool = False
    ledger: Ledger = field(default_factory=Ledger)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _seq: int = 1000
    _tick: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def __post_init__(self) -> None:
        self.bucket = LeakyBucket(self.maximum, self.restore_rate, self.clock)

    def token_valid(self, token: str) -> bool:
        """The legacy app's token, or an issued one that has not expired."""
        with self.lock:
            if hmac.compare_digest(token.encode(), self.access_token.encode()):
                return True
            expiry = self.issued_tokens.get(token)
            return expiry is not None and self.clock.monotonic() < expiry

    def issue_token(self) -> str:
        with self.lock:
            token = f"shpat_{secrets.token_hex(16)}"
            self.issued_tokens[token] = self.clock.monotonic() + self.token_lifetime_s
            return token

    # -- ids and time -------------------------------------------------------------------

    def next_id(self, kind: str) -> str:
        with self.lock:
            self._seq += 1
            return f"gid://shopify/{kind}/{self._seq}"

    def now(self) -> str:
        """Shopify timestamps have whole seconds; the fake's clock never goes backwards."""
        with self.lock:
            real = datetime.now(UTC).replace(microsecond=0)
            self._tick = max(self._tick, real)
            return self._tick.isoformat().replace("+00:00", "Z")

    def advance_seconds(self, seconds: int) -> None:
        """Move the store's wall clock on (tests use it to separate updates in time)."""
        with self.lock:
            self._tick = max(self._tick, datetime.now(UTC).replace(microsecond=0)) + timedelta(
                seconds=seconds
            )

    # -- catalog ------------------------------------------------------------------------

    def add_product(
        self,
        n: int,
        *,
        variants: int = 3,
        images: int = 2,
        price: str | None = "24.00",
        title: str | None = None,
        description_html: str | None = None,
        status: str = "ACTIVE",
    ) -> dict[str, Any]:
        """A product in the store's internal shape (GraphQL shape, lists unflattened)."""
        pid = f"gid://shopify/Product/{n}"
        stamp = self.now()
        sizes = ["S", "M", "L", "XL", "XXL"]
        product = {
            "__typename": "Product",
            "id": pid,
            "handle": f"product-{n}",
            "title": title or f"Product {n}",
            "descriptionHtml": description_html
            if description_html is not None
            else f"<p>Description of product {n}.</p>",
            "vendor": "Fake Vendor",
            "productType": "Things",
            "tags": ["fake"],
            "status": status,
            "createdAt": stamp,
            "updatedAt": stamp,
            "options": [
                {
                    "id": f"gid://shopify/ProductOption/{n}",
                    "name": "Size",
                    "values": [sizes[i % 5] + ("" if i < 5 else str(i)) for i in range(variants)],
                }
            ],
            "variants": [
                {
                    "__typename": "ProductVariant",
                    "id": f"gid://shopify/ProductVariant/{n * 100 + i}",
                    "title": sizes[i % 5] + ("" if i < 5 else str(i)),
                    "sku": f"SKU-{n}-{i}",
                    "price": price,
                    "compareAtPrice": None,
                    "inventoryQuantity": 5 + i,
                    "availableForSale": True,
                    "selectedOptions": [
                        {"name": "Size", "value": sizes[i % 5] + ("" if i < 5 else str(i))}
                    ],
                }
                for i in range(variants)
            ],
            "media": [
                {
                    "__typename": "MediaImage",
                    "id": f"gid://shopify/MediaImage/{n * 100 + i}",
                    "alt": f"Product {n} photo {i}",
                    "mediaContentType": "IMAGE",
                    "status": "READY",
                    "mediaErrors": [],
                    "image": {
                        "url": f"{self.base_url}/cdn/p{n}-{i}.png",
                        "altText": f"Product {n} photo {i}",
                        "width": 8,
                        "height": 8,
                    },
                }
                for i in range(images)
            ],
        }
        with self.lock:
            self.products[pid] = product
        return product

    def update_product(self, pid: str, **changes: Any) -> dict[str, Any]:
        with self.lock:
            product = self.products[pid]
            product.update(changes)
            product["updatedAt"] = self.now()
            return product

    def set_price(self, pid: str, price: str) -> None:
        with self.lock:
            for variant in self.products[pid]["variants"]:
                variant["price"] = price
            self.products[pid]["updatedAt"] = self.now()

    def delete_product(self, pid: str) -> None:
        with self.lock:
            self.products.pop(pid, None)

    def inject(self, kind: str, times: int = 1, after: int = 0, **options: Any) -> None:
        """Fail the next ``times`` GraphQL requests after ``after`` clean ones."""
        with self.lock:
            self.faults.append(Fault(kind=kind, times=times, after=after, **options))

    def take_fault(self) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
            return None

    def find_media(self, media_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        with self.lock:
            for product in self.products.values():
                for media in product["media"]:
                    if media["id"] == media_id:
                        return product, media
        return None
