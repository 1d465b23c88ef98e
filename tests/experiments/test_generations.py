"""The render queue and the campaign's generations, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from experiments.generations import (
    admit_challengers,
    challenger_rounds,
    claim,
    enqueue,
    finish,
    generation_history,
    lapsed_claims,
    open_generation,
    pending_challengers,
    renew,
)
from reelcart.db import Database
from reelcart.models import Campaign, ExperimentDecision, RenderClaim, utcnow


def _queue(db: Database, campaign: dict[str, dict[str, str]]) -> list[str]:
    ids = sorted(cid for hooks in campaign.values() for cid in hooks.values())
    with db.session() as session:
        record = session.scalars(select(Campaign).where(Campaign.name == "spring")).one()
        generation = open_generation(session, record, "plan", "the campaign's variant plan")
        assert enqueue(session, generation, ids) == ids
    return ids


def test_a_creative_is_claimed_by_exactly_one_of_many_racing_workers(
    db: Database, campaign: dict[str, dict[str, str]]
) -> None:
    creative = _queue(db, campaign)[0]
    start = threading.Barrier(6)
    won: list[str] = []

    def worker(n: int) -> None:
        start.wait()
        with db.session() as session:
            if claim(session, creative, f"run-{n}", f"w{n}", lease_s=30):
                won.append(f"run-{n}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    with db.session() as session:
        row = session.get(RenderClaim, creative)
        assert row is not None and (row.status, row.claimed_by, row.attempts) == (
            "claimed",
            won[0],
            1,
        )


def test_a_dead_runs_lease_lapses_and_its_work_is_taken_over_once(
    db: Database, campaign: dict[str, dict[str, str]]
) -> None:
    first, second = _queue(db, campaign)[:2]
    with db.session() as session:
        assert claim(session, first, "dead", "w1", lease_s=30)
        assert claim(session, second, "dead", "w1", lease_s=30)
        assert finish(session, second, "dead")  # done before it died
        assert renew(session, "dead", 30) == 1  # only the open claim is renewed
        assert not claim(session, first, "other", "w2", lease_s=30)  # a live lease holds
        assert lapsed_claims(session, ["dead"]) == set()
        session.execute(
            update(RenderClaim)
            .where(RenderClaim.creative_id == first)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        assert lapsed_claims(session, ["dead", "other"]) == {"dead"}
        assert claim(session, first, "other", "w2", lease_s=30)
        assert not claim(session, second, "other", "w2", lease_s=30)  # done: never again
        assert not finish(session, first, "dead")  # the dead run lost it
        assert finish(session, first, "other")
        rows = {r.creative_id: r for r in session.scalars(select(RenderClaim))}
        assert (rows[first].status, rows[first].worker, rows[first].attempts) == ("done", "w2", 2)
        assert (rows[second].status, rows[second].worker, rows[second].attempts) == (
            "done",
            "w1",
            1,
        )


def test_challengers_enter_at_the_floor_and_the_history_says_why(
    db: Database, campaign: dict[str, dict[str, str]]
) -> None:
    ids = _queue(db, campaign)
    mug = "gid://shopify/Product/1"
    with db.session() as session:
        record = session.scalars(select(Campaign).where(Campaign.name == "spring")).one()
        decision = ExperimentDecision(
            campaign_id=record.id,
            product_id=mug,
            kind="challengers",
            creative_id=campaign[mug]["price"],
            detail={"remix_of": {"hook": "price"}, "variants": [{"hook": "price", "cta": "x"}]},
        )
        session.add(decision)
        session.flush()
        assert [d.id for d in pending_challengers(session, "spring")] == [decision.id]
        assert challenger_rounds(session, record.id) == 0
        open_generation(session, record, "challengers", "price won", decision_id=decision.id)
        assert pending_challengers(session, "spring") == []
        assert challenger_rounds(session, record.id) == 1
        # Two live creatives of the mug, one of them the newcomer: it gets exactly the floor.
        weights = admit_challengers(session, record.id, mug, [campaign[mug]["title"]], floor=0.05)
        assert weights[campaign[mug]["title"]] == pytest.approx(0.05)
        assert sum(weights.values()) == pytest.approx(1.0)
        history = generation_history(session, "spring")
    assert [(g["number"], g["trigger"]) for g in history] == [(1, "plan"), (2, "challengers")]
    assert len(history[0]["creatives"]) == len(ids)
    assert history[1]["reason"] == "price won" and history[1]["decision_id"] == decision.id
