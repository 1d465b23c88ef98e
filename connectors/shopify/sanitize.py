"""Turn Shopify product nodes into ``CatalogProduct``s, cleaning what merchants type.

Bad input never stops a sync: a description is sanitised (an allowlist of tags, no
scripts, no event handlers, capped in length), a variant without a usable price is
dropped, a product with nothing sellable left is skipped, and every change is reported
with a reason so the sync can log it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from pydantic import ValidationError

from reelcart.domain import CatalogProduct
from reelcart.money import to_minor_units

__all__ = [
    "ISO_4217",
    "MAX_DESCRIPTION_CHARS",
    "Conversion",
    "product_from_node",
    "sanitize_html",
]

MAX_DESCRIPTION_CHARS = 20_000

# Active ISO 4217 codes Shopify stores can sell in; anything else is an unknown currency.
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
    JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
    MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
    QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SYP SZL THB TJS TMT
    TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW
    ZWL""".split()  # noqa: SIM905 - a block of codes reads better than 160 quoted strings
)

_ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "ul",
        "ol",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "span",
        "div",
        "a",
        "table",
        "thead",
        "tbody",
        "tr",
        "td",
        "th",
        "hr",
        "sub",
        "sup",
        "small",
        "code",
        "pre",
    }
)
_DROP_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "noscript", "template"})
_ALLOWED_ATTRS = {"a": {"href", "title"}}
_SAFE_URL = re.compile(r"^(https?:|mailto:|/|#)", re.IGNORECASE)


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.dropping = 0
        self.removed: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_CONTENT:
            self.dropping += 1
            self.removed.add(tag)
            return
        if self.dropping or tag not in _ALLOWED_TAGS:
            if tag not in _ALLOWED_TAGS:
                self.removed.add(tag)
            return
        kept = []
        for name, value in attrs:
            if name in _ALLOWED_ATTRS.get(tag, ()) and value and _SAFE_URL.match(value.strip()):
                kept.append(f' {name}="{html.escape(value, quote=True)}"')
            else:
                self.removed.add(f"{tag}[{name}]")
        self.out.append(f"<{tag}{''.join(kept)}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.dropping = max(0, self.dropping - 1)
            return
        if not self.dropping and tag in _ALLOWED_TAGS and tag != "br":
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(html.escape(data, quote=False))


def sanitize_html(raw: str, limit: int = MAX_DESCRIPTION_CHARS) -> tuple[str, list[str]]:
    """An allowlisted, length-capped copy of ``raw``, and what was changed."""
    parser = _Sanitizer()
    parser.feed(raw)
    parser.close()
    clean = "".join(parser.out)
    notes = [f"removed {sorted(parser.removed)}"] if parser.removed else []
    if len(clean) > limit:
        cut = clean[:limit]
        # Never leave half a tag at the end.
        if cut.rfind("<") > cut.rfind(">"):
            cut = cut[: cut.rfind("<")]
        notes.append(f"description truncated from {len(clean)} to {len(cut)} characters")
        clean = cut
    return clean, notes


@dataclass
class Conversion:
    """A converted product (or ``None`` if skipped) and the reasons for each change."""

    product: CatalogProduct | None
    notes: list[str] = field(default_factory=list)


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if not isinstance(connection, dict):
        return []
    if "nodes" in connection:
        return [n for n in connection["nodes"] if isinstance(n, dict)]
    return [e["node"] for e in connection.get("edges", []) if isinstance(e, dict)]


def _variant(raw: dict[str, Any], currency: str, notes: list[str]) -> dict[str, Any] | None:
    price = raw.get("price")
    if isinstance(price, dict):  # MoneyV2 shape in some API versions
        price = price.get("amount")
    try:
        if price is None:
            raise ValueError("no price")
        to_minor_units(str(price), currency)
    except ValueError as exc:
        notes.append(f"variant {raw.get('id')} skipped: price {price!r}: {exc}")
        return None
    compare = raw.get("compareAtPrice")
    if isinstance(compare, dict):
        compare = compare.get("amount")
    if compare is not None:
        try:
            to_minor_units(str(compare), currency)
        except ValueError:
            notes.append(f"variant {raw.get('id')}: compareAtPrice {compare!r} dropped")
            compare = None
    quantity = raw.get("inventoryQuantity")
    if not isinstance(quantity, int) or quantity < 0:
        # Untracked (null) or oversold (negative) stock: nothing on hand to promise.
        quantity = 0
    return {
        "id": raw.get("id"),
        "title": raw.get("title") or "Default",
        "sku": raw.get("sku") or None,
        "price": str(price),
        "compareAtPrice": str(compare) if compare is not None else None,
        "inventoryQuantity": quantity,
        "availableForSale": bool(raw.get("availableForSale", True)),
        "selectedOptions": [
            o for o in raw.get("selectedOptions") or [] if o.get("name") and o.get("value")
        ],
    }


def _image(raw: dict[str, Any], notes: list[str]) -> dict[str, Any] | None:
    if raw.get("__typename", "MediaImage") != "MediaImage":
        return None  # videos (ours included) and 3D models are not catalog photos
    image = raw.get("image") or {}
    url = image.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        notes.append(f"image {raw.get('id')} skipped: unusable URL {url!r}")
        return None
    return {
        "id": raw.get("id"),
        "url": url,
        "altText": image.get("altText") or raw.get("alt"),
        "width": image.get("width") or None,
        "height": image.get("height") or None,
    }


def product_from_node(node: dict[str, Any], currency: str) -> Conversion:
    """Flatten and clean one ``Product`` node (paginated or reassembled from bulk JSONL)."""
    notes: list[str] = []
    description, changes = sanitize_html(str(node.get("descriptionHtml") or ""))
    notes.extend(changes)
    raw_variants = _nodes(node.get("variants"))
    variants = [v for v in (_variant(r, currency, notes) for r in raw_variants) if v]
    if not variants:
        notes.append("skipped: no variant with a valid price")
        return Conversion(None, notes)
    images = [i for i in (_image(r, notes) for r in _nodes(node.get("media"))) if i]
    payload = {
        "id": node.get("id"),
        "handle": node.get("handle"),
        "title": node.get("title"),
        "descriptionHtml": description,
        "vendor": node.get("vendor") or "",
        "productType": node.get("productType") or "",
        "tags": [t for t in node.get("tags") or [] if isinstance(t, str)],
        "status": node.get("status") or "ACTIVE",
        "createdAt": node.get("createdAt"),
        "updatedAt": node.get("updatedAt"),
        "options": [o for o in node.get("options") or [] if o.get("name") and o.get("values")],
        "variants": variants,
        "images": images,
    }
    try:
        return Conversion(CatalogProduct.model_validate(payload), notes)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        notes.append(f"skipped: field {where}: {first['msg']}")
        return Conversion(None, notes)
