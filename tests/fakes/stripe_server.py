"""localstripe on 127.0.0.1 plus a shim for what it lacks, as a subprocess tests can stop.

localstripe (a stateful fake Stripe) handles PaymentMethods, PaymentIntents and refunds. It
lacks three things reelcart relies on, which the shim adds the way Stripe behaves:

- ``Idempotency-Key``: a POST with a key seen before returns the first response (with
  ``Idempotent-Replayed: true``); the same key with other parameters is a 400
  ``idempotency_error``; the same key while its first request is still being processed is
  a 409 ``idempotency_key_in_use``. 5xx answers are not remembered.
- Search: ``GET /v1/payment_intents/search`` with ``metadata['key']:'value'`` clauses
  (joined by ``AND``), answered as Stripe's ``search_result`` list.
- Shared Payment Tokens: ``POST /v1/test_helpers/shared_payment/granted_tokens`` grants an
  ``spt_…`` over a PaymentMethod with ``usage_limits`` (currency, max_amount, expires_at);
  ``POST /v1/payment_intents`` with ``shared_payment_granted_token`` charges it, enforcing
  the limits and single use.
- Checkout Sessions, their hosted payment page and signed ``checkout.session.completed``
  webhooks (:mod:`tests.fakes.stripe_checkout`).
- Declines: Stripe's decline test cards (4000000000000002 generic decline, …9995
  insufficient funds, …) decline when charged; localstripe declines them only on attach.

State lives in a pickle file of our own (localstripe's default is one shared
``/tmp/localstripe.pickle``), so a stopped and restarted server keeps its payments.

Run: ``python -m tests.fakes.stripe_server --port N --state FILE``; in tests use
:class:`LocalStripe`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.fakes.stripe_checkout import add_checkout_sessions

__all__ = ["API_KEY", "LocalStripe"]

API_KEY = "sk_test_reelcart_localstripe"
_METADATA_CLAUSE = re.compile(r"metadata\['(?P<key>[^']+)'\]:'(?P<value>[^']*)'")
_ROOT = Path(__file__).resolve().parents[2]


def _patch_and_build_app(state_file: str) -> Any:
    """Import localstripe, point its persistence at ``state_file``, add the shim."""
    from aiohttp import web
    from localstripe import resources, server
    from localstripe.errors import UserError

    store = resources.store
    card_method = resources.PaymentMethod.__init__

    def without_cvc(self: Any, *args: Any, **kwargs: Any) -> None:
        # Stripe's card[cvc] is optional (a network token carries a cryptogram instead);
        # localstripe insists on one, so a missing CVC is given the value it would not check.
        card = kwargs.get("card")
        if isinstance(card, dict) and "number" in card and "cvc" not in card:
            kwargs["card"] = {**card, "cvc": "000"}
        card_method(self, *args, **kwargs)

    resources.PaymentMethod.__init__ = without_cvc

    def dump_to_disk(self: Any) -> None:
        tmp = state_file + ".tmp"
        with open(tmp, "wb") as handle:
            pickle.dump(dict(self), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, state_file)

    def try_load_from_disk(self: Any) -> None:
        try:
            with open(state_file, "rb") as handle:
                self.clear()
                dict.update(self, pickle.load(handle))
        except FileNotFoundError:
            pass

    resources.Store.dump_to_disk = dump_to_disk
    resources.Store.try_load_from_disk = try_load_from_disk

    # Stripe's decline test cards decline on charge too (localstripe: only on attach).
    original = resources.PaymentMethod._charging_is_declined

    def charging_is_declined(self: Any) -> bool:
        return bool(original(self) or self._attaching_is_declined())

    resources.PaymentMethod._charging_is_declined = charging_is_declined

    def stripe_error(status: int, message: str, code: str, kind: str) -> web.Response:
        body = {"error": {"type": kind, "code": code, "message": message}}
        return web.json_response(body, status=status)

    async def grant_spt(request: web.Request) -> web.Response:
        data = await server.get_post_data(request) or {}
        pm_id = data.get("payment_method")
        limits = data.get("usage_limits") or {}
        try:
            resources.PaymentMethod._api_retrieve(pm_id)
            max_amount = int(limits["max_amount"])
            currency = str(limits["currency"]).lower()
        except (KeyError, TypeError, ValueError, UserError):
            return stripe_error(
                400, "invalid SPT parameters", "parameter_invalid", "invalid_request_error"
            )
        token: dict[str, Any] = {
            "id": "spt_" + secrets.token_hex(12),
            "object": "shared_payment.granted_token",
            "created": int(time.time()),
            "livemode": False,
            "payment_method": pm_id,
            "usage_limits": {
                "currency": currency,
                "max_amount": max_amount,
                "expires_at": int(limits["expires_at"]) if limits.get("expires_at") else None,
            },
            "deactivated_at": None,
            "deactivated_reason": None,
        }
        store["shim_spt:" + token["id"]] = token
        return web.json_response(token)

    async def get_spt(request: web.Request) -> web.Response:
        token = store.get("shim_spt:" + request.match_info["id"])
        if token is None:
            return stripe_error(404, "No such token", "resource_missing", "invalid_request_error")
        return web.json_response(token)

    def charge_spt(data: dict[str, Any]) -> web.Response:
        token = store.get("shim_spt:" + str(data.pop("shared_payment_granted_token")))
        if token is None:
            return stripe_error(
                400, "No such shared payment token", "resource_missing", "invalid_request_error"
            )
        limits = token["usage_limits"]
        amount = int(data.get("amount", 0))
        expired = limits["expires_at"] is not None and limits["expires_at"] < time.time()
        if token["deactivated_at"] or expired:
            return stripe_error(
                402,
                "The shared payment token is no longer usable.",
                "shared_payment_token_deactivated",
                "card_error",
            )
        if (
            str(data.get("currency", "")).lower() != limits["currency"]
            or amount > limits["max_amount"]
        ):
            return stripe_error(
                402,
                "The amount exceeds the token's usage limits.",
                "shared_payment_token_usage_limit_exceeded",
                "card_error",
            )
        data["payment_method"] = token["payment_method"]
        data.pop("expand", None)
        try:
            intent = resources.PaymentIntent._api_create(**data)
        except UserError as exc:
            return exc.to_response()
        finally:
            # Single use, as Stripe's one-time SPTs: spent even when the charge declines.
            token = dict(token, deactivated_at=int(time.time()), deactivated_reason="consumed")
            store["shim_spt:" + token["id"]] = token
        return server.json_response(intent._export())

    def search_payment_intents(request: web.Request) -> web.Response:
        if server.get_api_key(request) is None:
            return stripe_error(401, "Invalid API Key provided", "", "invalid_request_error")
        query = request.query.get("query", "")
        clauses = [c.strip() for c in query.split(" AND ")]
        wanted: dict[str, str] = {}
        for clause in clauses:
            match = _METADATA_CLAUSE.fullmatch(clause)
            if match is None:
                return stripe_error(
                    400, f"Unsupported search query: {query}", "", "invalid_request_error"
                )
            wanted[match["key"]] = match["value"]
        found = [
            value._export()
            for name, value in list(store.items())
            if name.startswith("payment_intent:")
            and all((value.metadata or {}).get(k) == v for k, v in wanted.items())
        ]
        found.sort(key=lambda pi: pi["created"], reverse=True)
        limit = int(request.query.get("limit", "10"))
        body = {
            "object": "search_result",
            "url": "/v1/payment_intents/search",
            "has_more": len(found) > limit,
            "data": found[:limit],
            "next_page": None,
        }
        return server.json_response(body)

    @web.middleware
    async def shim(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "GET" and request.path == "/v1/payment_intents/search":
            return search_payment_intents(request)
        key = request.headers.get("Idempotency-Key")
        data: dict[str, Any] = {}
        if request.method == "POST":
            data = dict(await server.get_post_data(request) or {})
        spt = request.path == "/v1/payment_intents" and "shared_payment_granted_token" in data
        if request.method != "POST" or not key:
            return charge_spt(data) if spt else await handler(request)
        api_key = server.get_api_key(request) or ""
        slot = "shim_idem:" + hashlib.sha256(f"{api_key}\n{key}".encode()).hexdigest()
        digest = hashlib.sha256(
            json.dumps([request.path, data], sort_keys=True, default=str).encode()
        ).hexdigest()
        seen = store.get(slot)
        if seen is not None:
            if seen.get("in_flight"):
                return stripe_error(
                    409,
                    "There is currently another in-progress request using this Idempotent Key."
                    " Please try again later.",
                    "idempotency_key_in_use",
                    "idempotency_error",
                )
            if seen["digest"] != digest:
                return stripe_error(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters.",
                    "idempotency_key_in_use",
                    "idempotency_error",
                )
            return web.Response(
                status=seen["status"],
                body=seen["body"],
                content_type="application/json",
                headers={"Idempotent-Replayed": "true", "Idempotency-Key": key},
            )
        store[slot] = {"in_flight": True, "digest": digest}
        try:
            response = charge_spt(data) if spt else await handler(request)
        except BaseException:
            store.pop(slot, None)
            raise
        if isinstance(response, web.Response) and response.status < 500 and response.body:
            body = response.body if isinstance(response.body, bytes) else b""
            store[slot] = {"digest": digest, "status": response.status, "body": body}
        else:
            store.pop(slot, None)
        return response

    app = server.app
    app.middlewares.insert(0, shim)
    app.router.add_post("/v1/test_helpers/shared_payment/granted_tokens", grant_spt)
    app.router.add_get("/v1/shared_payment/granted_tokens/{id}", get_spt)
    add_checkout_sessions(app, store, server, resources)
    store.try_load_from_disk()
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", required=True)
    args = parser.parse_args()
    from aiohttp import web

    app = _patch_and_build_app(args.state)
    # Loopback only: localstripe itself binds every interface.
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalStripe:
    """A localstripe subprocess on a fixed loopback port; ``stop``/``start`` keep its state."""

    def __init__(self, state_dir: Path, port: int | None = None) -> None:
        self.port = port or _free_port()
        state_dir.mkdir(parents=True, exist_ok=True)
        self.state_file = state_dir / "localstripe.pickle"
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 20.0) -> LocalStripe:
        cmd = [sys.executable, "-m", "tests.fakes.stripe_server"]
        cmd += ["--port", str(self.port), "--state", str(self.state_file)]
        self._proc = subprocess.Popen(
            cmd, cwd=_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise RuntimeError(f"localstripe exited: {err[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("localstripe did not start")

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)
        if self._proc.stderr:
            self._proc.stderr.close()
        self._proc = None

    def __enter__(self) -> LocalStripe:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


if __name__ == "__main__":
    main()
