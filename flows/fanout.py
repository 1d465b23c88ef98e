"""Fan a campaign's generation out into child flow runs on the ``gpu`` pool, and wait.

Each batch of products becomes one run of the ``generate-creatives`` deployment; any
worker of the pool may take it. The parent polls the runs' states on the Prefect server
and the children's claims in the database: a child that failed, crashed, or whose worker
died (its claims' leases lapsed while Prefect still shows it running) is marked crashed
and submitted again. That is safe because a child renders only what it claims, and
claims only what is neither done nor held under a live lease.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.states import Crashed
from sqlalchemy import select

from experiments.generations import lapsed_claims
from reelcart.models import RenderClaim

from .common import database

__all__ = ["CHILD_DEPLOYMENT", "Child", "deployment_exists", "run_children"]

CHILD_DEPLOYMENT = "generate-creatives/generate-creatives"


@dataclass
class Child:
    """One batch of products and the flow runs that tried it (newest last)."""

    label: str
    parameters: dict[str, Any]
    runs: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    submitted_s: list[float] = field(default_factory=list)
    # Creatives of these products already published before this run (nothing to do).
    skipped: list[str] = field(default_factory=list)
    done: bool = False

    @property
    def final_state(self) -> str:
        return self.states[-1] if self.states else "NOT_SUBMITTED"


def deployment_exists(name: str = CHILD_DEPLOYMENT) -> bool:
    """Whether the Prefect server knows ``name`` (no server-side deployment: run in-process)."""
    try:
        with get_client(sync_client=True) as client:
            client.read_deployment_by_name(name)
    except (ObjectNotFound, ValueError):
        return False
    return True


def _submit(child: Child, deployment: str) -> None:
    run: FlowRun = run_deployment(  # type: ignore[assignment]
        deployment,
        parameters=child.parameters,
        timeout=0,  # submit only; the parent watches all children together
        flow_run_name=f"{child.label}-try{len(child.runs) + 1}",
        as_subflow=True,
    )
    child.runs.append(str(run.id))
    child.states.append("SCHEDULED")
    child.submitted_s.append(time.monotonic())


def _holds_claims(run_ids: Sequence[str]) -> set[str]:
    with database().session() as session:
        rows = session.scalars(
            select(RenderClaim.claimed_by).where(RenderClaim.claimed_by.in_(list(run_ids)))
        )
        return {r for r in rows if r}


def _dead(running: dict[str, Child], started: dict[str, float], grace_s: float) -> set[str]:
    """Runs Prefect shows as running whose worker is gone, judged from their claims."""
    with database().session() as session:
        dead = lapsed_claims(session, list(running))
    # A run that never claimed anything long after it started died before it could.
    silent = {r for r, t in started.items() if time.monotonic() - t > grace_s}
    return dead | (silent - _holds_claims(list(silent)) if silent else set())


def run_children(
    children: Sequence[Child],
    *,
    deployment: str = CHILD_DEPLOYMENT,
    attempts: int = 3,
    poll_s: float = 1.0,
    grace_s: float = 90.0,
    on_state: Callable[[Child], None] | None = None,
) -> list[Child]:
    """Submit every child, resubmit the ones that die or fail (up to ``attempts`` runs
    each), and return when all are final."""
    for child in children:
        _submit(child, deployment)
    started: dict[str, float] = {}
    with get_client(sync_client=True) as client:
        while not all(c.done for c in children):
            time.sleep(poll_s)
            current = {c.runs[-1]: c for c in children if not c.done}
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(current)))  # type: ignore[arg-type]
            )
            running: dict[str, Child] = {}
            for run in runs:
                child = current[str(run.id)]
                state = run.state_type.value if run.state_type else "SCHEDULED"
                child.states[-1] = state
                if state == "RUNNING":
                    running[str(run.id)] = child
                    started.setdefault(str(run.id), time.monotonic())
                elif state == "COMPLETED":
                    child.done = True
                elif run.state is not None and run.state.is_final():
                    _retry_or_give_up(child, deployment, attempts)
                if on_state is not None:
                    on_state(child)
            for run_id in _dead(running, {r: started[r] for r in running}, grace_s):
                child = running[run_id]
                client.set_flow_run_state(
                    run_id,
                    Crashed(message="its worker stopped renewing its claims (worker died)"),
                    force=True,
                )
                child.states[-1] = "CRASHED"
                _retry_or_give_up(child, deployment, attempts)
    return list(children)


def _retry_or_give_up(child: Child, deployment: str, attempts: int) -> None:
    if len(child.runs) < attempts:
        _submit(child, deployment)
    else:
        child.done = True
