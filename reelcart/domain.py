"""Domain types shared by every package: the catalog in Shopify's shape, and the work items
that cross from the database side to the generation side.

The catalog models mirror Shopify Admin GraphQL ``Product`` nodes with connections flattened
to lists, so a catalog export file and the Shopify connector produce the same thing.
"""

from __future__ import annotations

import enum
import itertools
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "CampaignPlan",
    "CatalogImage",
    "CatalogOption",
    "CatalogProduct",
    "CatalogShop",
    "CatalogSnapshot",
    "CatalogVariant",
    "CreativeJob",
    "CreativeStatus",
    "EventKind",
    "SelectedOption",
]

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
DecimalString = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d+(\.\d+)?$")]


class _ShopifyShape(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class SelectedOption(_ShopifyShape):
    name: NonEmpty
    value: NonEmpty


class CatalogOption(_ShopifyShape):
    name: NonEmpty
    values: list[NonEmpty] = Field(min_length=1)


class CatalogVariant(_ShopifyShape):
    id: NonEmpty
    title: NonEmpty
    sku: str | None = None
    price: DecimalString
    compare_at_price: DecimalString | None = Field(default=None, alias="compareAtPrice")
    inventory_quantity: int = Field(alias="inventoryQuantity", ge=0)
    available_for_sale: bool = Field(default=True, alias="availableForSale")
    selected_options: list[SelectedOption] = Field(default_factory=list, alias="selectedOptions")


class CatalogImage(_ShopifyShape):
    id: NonEmpty
    url: NonEmpty
    alt_text: str | None = Field(default=None, alias="altText")
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)


class CatalogProduct(_ShopifyShape):
    id: NonEmpty
    handle: NonEmpty
    title: NonEmpty
    description_html: str = Field(default="", alias="descriptionHtml")
    vendor: str = ""
    product_type: str = Field(default="", alias="productType")
    tags: list[str] = Field(default_factory=list)
    status: Literal["ACTIVE", "ARCHIVED", "DRAFT"] = "ACTIVE"
    created_at: datetime | None = Field(default=None, alias="createdAt")
    updated_at: datetime | None = Field(default=None, alias="updatedAt")
    options: list[CatalogOption] = Field(default_factory=list)
    variants: list[CatalogVariant] = Field(min_length=1)
    images: list[CatalogImage] = Field(default_factory=list)


class CatalogShop(_ShopifyShape):
    name: NonEmpty
    myshopify_domain: str | None = Field(default=None, alias="myshopifyDomain")
    currency_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        alias="currencyCode"
    )


class CatalogSnapshot(_ShopifyShape):
    """A whole catalog as read from one source at one time."""

    shop: CatalogShop
    products: list[CatalogProduct]


class EventKind(enum.StrEnum):
    """What a shopper did with a creative, in funnel order."""

    IMPRESSION = "impression"
    CLICK = "click"
    CHECKOUT = "checkout"
    PURCHASE = "purchase"


class CreativeStatus(enum.StrEnum):
    """A creative's life: planned, then rendered to files, then published at a URL."""

    PLANNED = "planned"
    RENDERED = "rendered"
    PUBLISHED = "published"
    RETIRED = "retired"


def _gain(
    uncovered: set[tuple[int, int, int, int]], row: dict[int, int], k: int, level: int
) -> int:
    """How many uncovered pairs setting factor ``k`` to ``level`` would cover."""
    return sum(
        ((min(k, m), level if k < m else v, max(k, m), v if k < m else level) in uncovered)
        for m, v in row.items()
    )


def _pairwise(levels: list[list[str]]) -> list[tuple[int, ...]]:
    """Greedy all-pairs design (AETG-style, deterministic) over level indices."""
    n = len(levels)
    uncovered = {
        (i, a, j, b)
        for i, j in itertools.combinations(range(n), 2)
        for a in range(len(levels[i]))
        for b in range(len(levels[j]))
    }
    rows: list[tuple[int, ...]] = []
    while uncovered:
        i, a, j, b = min(uncovered)
        row: dict[int, int] = {i: a, j: b}
        for k in range(n):
            if k not in row:
                gains = [_gain(uncovered, row, k, lv) for lv in range(len(levels[k]))]
                row[k] = gains.index(max(gains))  # ties: the first level
        full = tuple(row[k] for k in range(n))
        uncovered -= {(p, full[p], q, full[q]) for p, q in itertools.combinations(range(n), 2)}
        rows.append(full)
    return rows


class CampaignPlan(BaseModel):
    """The variant matrix of a campaign: named factors, their levels, a design and a cap.

    The creative factors are ``hook``, ``style`` (motion preset), ``cta``, ``duration``
    (``6s``, ``15s``) and ``aspect`` (``9:16``, ``1:1``, ``4:5``, ``16:9``); other names
    pass through to the manifest. ``design`` picks the combinations: ``full`` (the full
    factorial), ``half`` (the regular half fraction: level indices summing to an even
    number, i.e. the defining relation I = ABC...; every level of every factor still
    appears equally often when some other factor has an even number of levels) or
    ``pairwise`` (a greedy covering design: every pair of levels of every two factors
    appears at least once, far fewer runs than the full factorial). The result is cut at
    ``max_variants`` per product. Names and levels are identifiers (``hook=price``).
    """

    model_config = ConfigDict(frozen=True)

    factors: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")],
        list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_:.-]*$")]],
    ] = Field(min_length=1)
    max_variants: int = Field(default=8, ge=1, le=256)
    design: Literal["full", "half", "pairwise"] = "full"

    def variants(self) -> list[dict[str, str]]:
        """Factor combinations of the design, first factor (by name) varying slowest."""
        names = sorted(self.factors)
        for name in names:
            if not self.factors[name]:
                raise ValueError(f"factor {name!r} has no levels")
        levels = [self.factors[name] for name in names]
        if self.design == "pairwise" and len(names) > 1:
            rows = _pairwise(levels)
        else:
            rows = list(itertools.product(*(range(len(lv)) for lv in levels)))
            if self.design == "half":
                if len(names) < 2:
                    raise ValueError("a half fraction needs at least two factors")
                rows = [row for row in rows if sum(row) % 2 == 0]
        combos = [{name: levels[k][row[k]] for k, name in enumerate(names)} for row in rows]
        return combos[: self.max_variants]

    @staticmethod
    def variant_key(factors: dict[str, str]) -> str:
        """Canonical ``name=level;…`` string identifying a variant within a campaign."""
        return ";".join(f"{name}={factors[name]}" for name in sorted(factors))


class CreativeJob(BaseModel):
    """Everything the generation side needs to render one creative, and nothing else.

    Built from database rows by the campaign planner; consumed by ``generation`` (which
    never sees the database). ``image_paths`` are local files.
    """

    model_config = ConfigDict(frozen=True)

    creative_id: str
    name: str
    product_id: str
    product_title: str
    price_minor: int = Field(ge=0)
    # The dearest variant's price when it differs: the ad then says "from <price_minor>".
    price_max_minor: int | None = Field(default=None, ge=0)
    currency: str
    brand_name: str
    image_paths: tuple[str, ...] = Field(min_length=1)
    factors: dict[str, str]
    seed: int
    # Optional catalog facts for copy (storyboard): never invented, only quoted.
    description: str = ""
    options: tuple[tuple[str, tuple[str, ...]], ...] = ()
    compare_at_minor: int | None = Field(default=None, ge=0)
    product_version: str | None = None
    # What the database knows of a previous render: lets the renderer skip finished work.
    rendered_hash: str | None = None
    video_path: str | None = None
    poster_path: str | None = None
