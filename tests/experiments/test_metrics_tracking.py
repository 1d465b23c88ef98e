"""Event rules and SQL metrics, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from experiments.events import record_event
from experiments.metrics import creative_metrics, exposures_by_period
from experiments.tracking import EventRejected, TrackedEvent, attribute_pending, ingest_event
from reelcart.db import Database
from reelcart.domain import EventKind

P1 = "gid://shopify/Product/1"


def _ev(**kw: object) -> TrackedEvent:
    return TrackedEvent.model_validate(kw)


def test_metrics_aggregate_per_unit(db: Database, campaign: dict[str, dict[str, str]]) -> None:
    a = campaign[P1]["price"]
    with db.session() as s:
        for subject in ("s1", "s2", "s3"):
            ingest_event(
                s,
                _ev(event_id=f"i-{subject}", kind="impression", creative_id=a, subject=subject),
                "t",
            )
        # Re-reporting an impression, from another source, is the same exposure.
        _, again = ingest_event(
            s, _ev(event_id="dup", kind="impression", creative_id=a, subject="s1"), "x"
        )
        ingest_event(s, _ev(event_id="c1", kind="click", creative_id=a, subject="s1"), "t")
        ingest_event(
            s,
            _ev(
                event_id="b1",
                kind="purchase",
                creative_id=a,
                subject="s1",
                amount_minor=2400,
                currency="USD",
            ),
            "t",
        )
        ingest_event(
            s,
            _ev(
                event_id="b2",
                kind="purchase",
                creative_id=a,
                subject="s1",
                amount_minor=1000,
                currency="USD",
            ),
            "t",
        )
        ingest_event(
            s,
            _ev(
                event_id="b3",
                kind="purchase",
                creative_id=a,
                subject="s2",
                amount_minor=500,
                currency="USD",
            ),
            "t",
        )
        # Replayed webhook: the same event id again changes nothing.
        _, replay = ingest_event(
            s,
            _ev(
                event_id="b3",
                kind="purchase",
                creative_id=a,
                subject="s2",
                amount_minor=500,
                currency="USD",
            ),
            "t",
        )
        # Another currency is not added to dollars.
        ingest_event(
            s,
            _ev(
                event_id="b4",
                kind="purchase",
                creative_id=a,
                subject="s3",
                amount_minor=900,
                currency="EUR",
            ),
            "t",
        )
    assert not again and not replay
    with db.session() as s:
        m = creative_metrics(s, [a, campaign[P1]["title"]], currency="USD")[a]
        empty = creative_metrics(s, [campaign[P1]["title"]], "USD")[campaign[P1]["title"]]
    assert (m.units, m.impressions, m.clickers, m.buyers, m.purchases) == (3, 3, 1, 3, 4)
    assert m.revenue == 3900 and m.revenue_sq == 3400**2 + 500**2
    assert m.purchases_sq == 2**2 + 1 + 1 and m.revenue_x_purchases == 3400 * 2 + 500 * 1
    assert m.value("conversion") == 1.0 and m.value("ctr") == pytest.approx(1 / 3)
    assert m.value("revenue_per_unit") == 1300 and m.value("aov") == 975
    assert empty.units == 0 and empty.value("conversion") == 0


def test_out_of_order_purchase_is_attributed_when_its_impression_arrives(
    db: Database, campaign: dict[str, dict[str, str]]
) -> None:
    a = campaign[P1]["title"]
    now = datetime.now(UTC)
    with db.session() as s:
        event, _ = ingest_event(
            s,
            _ev(
                event_id="late-buy",
                kind="purchase",
                product_id=P1,
                subject="bob",
                amount_minor=2400,
                currency="USD",
                occurred_at=now - timedelta(minutes=1),
            ),
            "webhook",
        )
        assert event.creative_id is None
        assert attribute_pending(s) == 0
    with db.session() as s:
        # The impression happened first but is delivered last (a batch from a feed).
        ingest_event(
            s,
            _ev(
                event_id="imp",
                kind="impression",
                creative_id=a,
                subject="bob",
                occurred_at=now - timedelta(minutes=30),
            ),
            "feed",
        )
        assert attribute_pending(s) == 1
    with db.session() as s:
        m = creative_metrics(s, [a], "USD")[a]
    assert (m.units, m.buyers, m.revenue) == (1, 1, 2400)


def test_ingestion_rules_refuse_bad_events(
    db: Database, campaign: dict[str, dict[str, str]]
) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        with pytest.raises(EventRejected, match="future"):
            ingest_event(
                s, _ev(event_id="f", kind="click", occurred_at=now + timedelta(hours=1)), "t"
            )
        with pytest.raises(EventRejected, match="older"):
            ingest_event(
                s, _ev(event_id="o", kind="click", occurred_at=now - timedelta(days=45)), "t"
            )
        with pytest.raises(EventRejected, match="unknown creative"):
            ingest_event(s, _ev(event_id="u", kind="click", creative_id="crv_nope"), "t")
        with pytest.raises(EventRejected, match="another product"):
            ingest_event(
                s,
                _ev(
                    event_id="w",
                    kind="click",
                    creative_id=campaign[P1]["price"],
                    product_id="gid://shopify/Product/2",
                ),
                "t",
            )
    with pytest.raises(ValueError, match="amount_minor and currency"):
        _ev(event_id="p", kind="purchase")
    with pytest.raises(ValueError, match="timezone"):
        _ev(event_id="n", kind="click", occurred_at="2026-01-01T00:00:00")


def test_exposures_by_period(db: Database, campaign: dict[str, dict[str, str]]) -> None:
    a, b = campaign[P1]["price"], campaign[P1]["title"]
    t0 = datetime.now(UTC) - timedelta(hours=3)
    with db.session() as s:
        for i, (cid, hours) in enumerate([(a, 0), (a, 0), (b, 0), (a, 2), (b, 2), (b, 2.5)]):
            record_event(
                s,
                EventKind.IMPRESSION,
                f"k{i}",
                creative_id=cid,
                product_id=P1,
                subject=f"s{i}",
                occurred_at=t0 + timedelta(hours=hours),
            )
    with db.session() as s:
        periods = exposures_by_period(s, [a, b], [t0 + timedelta(hours=1)])
    assert periods == [{a: 2, b: 1}, {a: 1, b: 2}]
