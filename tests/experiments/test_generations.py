"""The render queue and the campaign's generations, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from experiments.campaigns import set_challenger_cap
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
    rounds_without_a_win,
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


def test_the_cap_counts_rounds_in_a_row_whose_challengers_did_not_win(
    db: Database, campaign: dict[str, dict[str, str]]
) -> None:
    mug, bottle = "gid://shopify/Product/1", "gid://shopify/Product/2"
    with db.session() as session:
        record = session.scalars(select(Campaign).where(Campaign.name == "spring")).one()
        plan = open_generation(session, record, "plan", "the plan")
        enqueue(session, plan, [campaign[mug]["price"], campaign[bottle]["price"]])
        assert rounds_without_a_win(session, record.id) == 0

        def won(product: str, creative: str) -> None:
            session.add(
                ExperimentDecision(
                    campaign_id=record.id, product_id=product, kind="winner", creative_id=creative
                )
            )
            session.flush()

        first = open_generation(session, record, "challengers", "mug: price won")
        enqueue(session, first, [campaign[mug]["title"]])
        assert rounds_without_a_win(session, record.id) == 1  # not evaluated yet
        won(mug, campaign[mug]["title"])  # the challenger beat the winner: the loop goes on
        assert rounds_without_a_win(session, record.id) == 0
        second = open_generation(session, record, "challengers", "bottle: price won")
        enqueue(session, second, [campaign[bottle]["title"]])
        won(bottle, campaign[bottle]["price"])  # the old winner held: the challenger lost
        assert rounds_without_a_win(session, record.id) == 1
        # A cap stored on the campaign (the loop's own default applies when it is None).
        assert set_challenger_cap(session, "spring", 1).challenger_cap == 1
        with pytest.raises(ValueError, match="0 or more"):
            set_challenger_cap(session, "spring", -1)
    with db.session() as session:
        assert session.scalars(select(Campaign.challenger_cap)).one() == 1
