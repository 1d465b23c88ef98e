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
from typing import Any
from urllib.parse import urlsplit

import httpx

from connectors.safe_fetch import FetchError, FetchPolicy, resolve_checked

from .envelope import UcpError, check_version
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

MAX_PROFILE_BYTES = 256 * 1024
TTL_S = 60.0
CACHE_SIZE = 256


class UnusableUrl(FetchError):
    """The URL cannot be fetched from here at all (malformed, not https, unresolvable or
    not a public address): the spec's ``invalid_profile_url`` (400), not a failed fetch."""


def _pinned(url: str, policy: FetchPolicy) -> tuple[str, dict[str, str], dict[str, Any]]:
    try:
        return _pin(url, policy)
    except FetchError as exc:
        raise UnusableUrl(str(exc)) from None
    except ValueError:  # urlsplit's answer to e.g. an unclosed IPv6 literal
        raise UnusableUrl(f"not a URL: {url[:200]!r}") from None


def _pin(url: str, policy: FetchPolicy) -> tuple[str, dict[str, str], dict[str, Any]]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password:
        raise FetchError(f"not a fetchable URL: {url[:200]!r}")
    if parts.scheme != "https" and not (parts.scheme == "http" and host in policy.allow_hosts):
        raise FetchError(f"only https URLs are fetched, not {url[:200]!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"bad port in {url[:200]!r}") from None
    ip = resolve_checked(host, port, policy)
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    pinned = parts._replace(netloc=f"{literal}:{port}").geturl()
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return pinned, {"Host": host_header}, extensions


def guarded_request(
    method: str,
    url: str,
    policy: FetchPolicy,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 5.0,
) -> httpx.Response:
    """One request to ``url`` under the guards (no redirects); the response is read."""
    pinned, host, extensions = _pinned(url, policy)
    with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
        request = client.build_request(
            method, pinned, content=content, headers={**(headers or {}), **host}
        )
        request.extensions.update(extensions)
        response = client.send(request, stream=True)
        try:
            size, chunks = 0, []
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_PROFILE_BYTES:
                    raise FetchError(f"{url[:200]} answered more than {MAX_PROFILE_BYTES} bytes")
                chunks.append(chunk)
        finally:
            response.close()
    response._content = b"".join(chunks)
    return response


class ProfileCache:
    """Fetched platform profiles by URL (bounded LRU, at least ``TTL_S`` seconds each)."""

    def __init__(self, policy: FetchPolicy, overrides: dict[str, str] | None = None) -> None:
        self.policy = policy
        # A named profile URL fetched from another one (configuration, never a request's).
        self.overrides = dict(overrides or {})
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str) -> dict[str, Any]:
        """The profile at ``url`` (``profile_unreachable``/``invalid_profile_url`` if not)."""
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(url)
            if cached is not None and cached[0] > now:
                self._entries.move_to_end(url)
                return cached[1]
        profile = self._fetch(self.overrides.get(url, url))
        with self._lock:
            self._entries[url] = (now + TTL_S, profile)
            self._entries.move_to_end(url)
            while len(self._entries) > CACHE_SIZE:
                self._entries.popitem(last=False)
        return profile

    def _fetch(self, url: str) -> dict[str, Any]:
        try:
            scheme = urlsplit(url).scheme
        except ValueError:
            scheme = ""
        if scheme not in ("http", "https"):
            raise UcpError(400, "invalid_profile_url", "the UCP-Agent profile is not a URL")
        try:
            response = guarded_request(
                "GET", url, self.policy, headers={"Accept": "application/json"}
            )
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
        except ValueError:
            raise UcpError(422, "profile_malformed", "the profile is not valid JSON") from None
        if problem := profile_problem(profile):
            raise UcpError(422, "profile_malformed", f"the profile violates its schema: {problem}")
        return dict(profile)


def signing_keys(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """The profile's published keys (``signing_keys`` at the top, or inside ``ucp``)."""
    keys = profile.get("signing_keys") or profile["ucp"].get("signing_keys") or []
    return [k for k in keys if isinstance(k, dict)]


def order_webhook_url(profile: dict[str, Any]) -> str | None:
    """``dev.ucp.shopping.order[0].config.webhook_url`` of a platform profile."""
    entries = (profile["ucp"].get("capabilities") or {}).get("dev.ucp.shopping.order") or []
    for entry in entries if isinstance(entries, list) else [entries]:
        url = ((entry or {}).get("config") or {}).get("webhook_url")
        if isinstance(url, str) and url:
            return url
    return None


def negotiate(
    profiles: ProfileCache, profile: str | None, version: str | None, *, required: bool = False
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
                return profiles.get(profile)
            except UcpError:
                return None
    fetched = profiles.get(profile)
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
