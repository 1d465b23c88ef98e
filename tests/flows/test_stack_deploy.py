"""``prefect deploy --all`` from a fresh clone, against the session's real Prefect server.

The clone is ``git clone`` of this repository at HEAD in a temporary folder, deployed the
way a merchant deploys it: from the clone's root, with nothing but ``prefect.yaml``. What
the test asserts is the server's own record of every deployment, and one run that a
worker pulls from the clone. The deployments' pull step points at this checkout again
afterwards, so the other stack tests run the working tree, whatever the order.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from prefect import get_client
from prefect.client.schemas.actions import DeploymentUpdate
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from scripts.stack import BIN, ROOT

from .stack_fixture import Stack

pytestmark = pytest.mark.xdist_group("prefect-stack")

SET_DIR = "prefect.deployments.steps.set_working_directory"


def _clone(folder: Path) -> Path:
    clone = folder / "reelcart"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
        check=True,
        timeout=120,
    )
    return clone


def _back_to_this_checkout(stack: Stack, spec: dict[str, Any]) -> None:
    """Point the deployments' pull step at this checkout again (the clone is HEAD; the
    other stack tests run the working tree), through the API: seconds, not a deploy."""
    names = {w["name"] for w in spec["deployments"]}
    with (
        temporary_settings(updates={PREFECT_API_URL: stack.api_url}),
        get_client(sync_client=True) as client,
    ):
        for deployment in client.read_deployments():
            if deployment.name in names:
                client.update_deployment(
                    deployment.id,
                    DeploymentUpdate(pull_steps=[{SET_DIR: {"directory": str(ROOT)}}]),
                )


def test_prefect_deploy_all_from_a_fresh_clone(stack: Stack, tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    spec: dict[str, Any] = yaml.safe_load((clone / "prefect.yaml").read_text())
    # Deployed the way a person deploys it: in the clone's root, where `$PWD` points.
    env = {**stack.env, "PWD": str(clone)}
    try:
        deployed = subprocess.run(
            [str(BIN / "prefect"), "--no-prompt", "deploy", "--all"],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        with (
            temporary_settings(updates={PREFECT_API_URL: stack.api_url}),
            get_client(sync_client=True) as client,
        ):
            on_server = {(d.name, d.entrypoint): d for d in client.read_deployments()}
            for wanted in spec["deployments"]:
                got = on_server[(wanted["name"], wanted["entrypoint"])]
                assert got.work_pool_name == wanted["work_pool"]["name"]
                assert got.parameters == (wanted.get("parameters") or {}), wanted["name"]
                # The parameters validate against the flow's own signature, as the server
                # checks them when a run is created.
                jsonschema.validate(got.parameters, got.parameter_openapi_schema)
                # The pull step resolved to the clone's root, where the entrypoint lies.
                assert got.pull_steps == [{SET_DIR: {"directory": str(clone)}}], wanted["name"]
                assert (clone / str(got.entrypoint).split(":", 1)[0]).is_file()
                assert len(got.schedules) == len(wanted.get("schedules") or []), wanted["name"]

        # A worker pulls from the clone (its working directory) and the run completes.
        with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
            run = run_deployment(
                "reconcile_payments/reconcile-payments", timeout=120, poll_interval=1
            )
        assert isinstance(run, FlowRun)
        assert run.state is not None and run.state.is_completed(), run.state
    finally:
        _back_to_this_checkout(stack, spec)
