"""Platform profiles: fetched only from the URL the platform named, under the fetch guards.

A profile URL comes from a request header, so it is someone else's data: it is fetched the
way a catalog image is (``connectors.safe_fetch``): the host must resolve to public
addresses only (hosts in ``REELCART_FETCH_ALLOW_HOSTS`` excepted, e.g. the loopback servers
of tests), the connection goes to the checked address, redirects are refused (the spec
forbids them on profiles), the body is bounded and times out. HTTPS is required except for
allow-listed hosts. Profiles are cached at least 60 s (the spec's TTL floor) in a bounded
LRU, so an unknown platform costs one fetch per minute at most. The same guard sends
webhooks to the URL a profile names.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from connectors.safe_fetch import FetchError, FetchPolicy

from .envelope import UcpError, check_version
from .outbound import FetchAbandoned, FetchBounds, FetchBusy, UnusableUrl, guarded_request
from .profile_shape import profile_problem
from .signatures import SignatureError, verify_request

__all__ = [
    "ProfileCache",
    "check_signature",
    "guarded_request",
    "negotiate",
    "order_webhook_url",
    "signing_keys",
]

TTL_S = 60.0
# A failed fetch is remembered this long: a profile that does not answer costs one
# fetch per interval, not one per request that names it.
FAILURE_TTL_S = 30.0
CACHE_SIZE = 256


class ProfileCache:
    """Fetched platform profiles by URL (bounded LRU, at least ``TTL_S`` seconds each)."""

    def __init__(
        self,
        policy: FetchPolicy,
        bounds: FetchBounds | None = None,
        overrides: dict[str, str] | None = None,
    ) -> None:
        self.policy = policy
        self.bounds = bounds or FetchBounds()
        # A named profile URL fetched from another one (configuration, never a request's).
        self.overrides = dict(overrides or {})
        self._entries: OrderedDict[str, tuple[float, dict[str, Any] | UcpError]] = OrderedDict()
        self._running: dict[str, threading.Event] = {}
        self._waiting = 0
        self._lock = threading.Lock()

    def get(self, url: str, abandoned: Callable[[], bool] | None = None) -> dict[str, Any]:
        """The profile at ``url`` (``profile_unreachable``/``invalid_profile_url`` if not).

        ``abandoned`` tells the fetch that the request needing it is gone (stop reading).
        """
        with self._lock:
            found = self._cached(url)
            if found is None:
                # One fetch per URL at a time: the others wait for its result (a bounded
                # number of them; more are refused rather than queued on worker threads).
                under_way = self._running.get(url)
                leader = under_way is None
                running = under_way or threading.Event()
                if leader:
                    self._running[url] = running
                elif self._waiting >= self.bounds.in_flight:
                    raise _busy("too many requests are waiting for platform profiles")
                else:
                    self._waiting += 1
        if found is not None:
            return _answer(found)
        if not leader:
            try:
                running.wait(self.bounds.deadline_s + self.bounds.read_s)
            finally:
                with self._lock:
                    self._waiting -= 1
                    found = self._cached(url)
            if found is None:
                raise _busy("the platform profile is being fetched; retry shortly")
            return _answer(found)
        try:
            found = self._fetch(self.overrides.get(url, url), abandoned)
            ttl = TTL_S
        except UcpError as error:
            if error.headers.get("Retry-After"):
                with self._lock:
                    del self._running[url]
                running.set()
                raise  # busy here, not a fact about the profile: not remembered
            found, ttl = error, FAILURE_TTL_S
        with self._lock:
            self._entries[url] = (time.monotonic() + ttl, found)
            self._entries.move_to_end(url)
            while len(self._entries) > CACHE_SIZE:
                self._entries.popitem(last=False)
            del self._running[url]
        running.set()
        return _answer(found)

    def _cached(self, url: str) -> dict[str, Any] | UcpError | None:
        """The live cache entry (held lock)."""
        cached = self._entries.get(url)
        if cached is None or cached[0] <= time.monotonic():
            return None
        self._entries.move_to_end(url)
        return cached[1]

    def _fetch(self, url: str, abandoned: Callable[[], bool] | None) -> dict[str, Any]:
        try:
            scheme = urlsplit(url).scheme
        except ValueError:  # e.g. an unclosed IPv6 literal
            scheme = ""
        if scheme not in ("http", "https"):
            raise UcpError(400, "invalid_profile_url", "the UCP-Agent profile is not a URL")
        try:
            response = guarded_request(
                "GET",
                url,
                self.policy,
                headers={"Accept": "application/json"},
                bounds=self.bounds,
                abandoned=abandoned,
            )
        except (FetchBusy, FetchAbandoned) as exc:
            # Neither is a fact about the profile (a hang-up must not let a client make a
            # platform's profile fail for others): not remembered.
            raise _busy(str(exc)) from None
        except UnusableUrl as exc:
            raise UcpError(400, "invalid_profile_url", str(exc)) from None
        except FetchError as exc:
            raise UcpError(424, "profile_unreachable", str(exc)) from None
        except httpx.HTTPError as exc:
            raise UcpError(
                424, "profile_unreachable", f"Unable to fetch agent profile: {type(exc).__name__}"
            ) from None
        if response.is_redirect:
            raise UcpError(424, "profile_unreachable", "the profile answered with a redirect")
        if response.status_code != 200:
            raise UcpError(
                424, "profile_unreachable", f"the profile answered HTTP {response.status_code}"
            )
        # Fetched but not a profile: the spec's profile_malformed (422), not unreachable.
        try:
            profile = json.loads(response.content)
        except (ValueError, RecursionError):  # nested past the parser's depth is malformed too
            raise UcpError(422, "profile_malformed", "the profile is not valid JSON") from None
        if problem := profile_problem(profile):
            raise UcpError(422, "profile_malformed", f"the profile violates its schema: {problem}")
        return dict(profile)


def _busy(why: str) -> UcpError:
    return UcpError(424, "profile_unreachable", why, headers={"Retry-After": "2"})


def _answer(found: dict[str, Any] | UcpError) -> dict[str, Any]:
    """A cached profile, or its cached failure raised afresh."""
    if isinstance(found, UcpError):
        raise UcpError(found.status, found.code, found.content)
    return found


def signing_keys(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """The profile's published keys (``signing_keys`` at the top, or inside ``ucp``)."""
    keys = profile.get("signing_keys") or profile["ucp"].get("signing_keys") or []
    return [k for k in keys if isinstance(k, dict)] if isinstance(keys, list) else []


def order_webhook_url(profile: dict[str, Any]) -> str | None:
    """``dev.ucp.shopping.order[0].config.webhook_url`` of a platform profile."""
    entries = (profile["ucp"].get("capabilities") or {}).get("dev.ucp.shopping.order") or []
    for entry in entries if isinstance(entries, list) else [entries]:
        url = ((entry or {}).get("config") or {}).get("webhook_url")
        if isinstance(url, str) and url:
            return url
    return None


def negotiate(
    profiles: ProfileCache,
    profile: str | None,
    version: str | None,
    *,
    required: bool = False,
    abandoned: Callable[[], bool] | None = None,
) -> dict[str, Any] | None:
    """Check the platform's protocol version and read its profile, whose capabilities
    decide what is active (the spec has the business fetch every platform's profile).

    A version declared in ``UCP-Agent`` is checked first. With one declared, an unsigned
    request (``required`` False) is served even when the profile cannot be read (None is
    returned): the official conformance suite sends ``profile="..."`` beside a version and
    expects the checkout to be made. Without one, the profile's own version is the
    platform's, so the profile must be read."""
    if not profile:
        raise UcpError(400, "invalid_profile_url", 'UCP-Agent: profile="…" is required')
    if version is not None:
        check_version(version)
        if not required:
            try:
                return profiles.get(profile, abandoned)
            except UcpError:
                return None
    fetched = profiles.get(profile, abandoned)
    check_version(version or str(fetched["ucp"].get("version") or ""))
    return fetched


def check_signature(
    profile: dict[str, Any],
    *,
    method: str,
    authority: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
) -> None:
    """Verify a signed request against the ``signing_keys`` of the signer's profile."""
    try:
        verify_request(
            method=method,
            authority=authority,
            path=path,
            query=query,
            headers=headers,
            body=body,
            keys=signing_keys(profile),
        )
    except SignatureError as exc:
        raise UcpError(exc.status, exc.code, exc.content) from None
