"""Requests to URLs a platform named (its profile, its webhook URL), with bounded work.

A profile URL comes from a request header, so whoever sends the header decides how slow
the other end is. Every such request is bounded, whatever the server at the other end
does:

- the address guards of :mod:`connectors.safe_fetch` (public addresses only, the
  connection pinned to the checked address, no redirects, HTTPS unless allow-listed);
- a **total deadline** (connect, headers and body together; each read waits at most
  :attr:`FetchBounds.read_s`, so a server that sends a byte now and then is cut off at the
  deadline, not kept for as long as it keeps dripping);
- a **byte-rate floor** on the body after a short grace period (a body arriving slower
  than that is abandoned), and a size cap;
- **concurrency caps**: at most :attr:`FetchBounds.in_flight` such requests at once in the
  process and :attr:`FetchBounds.per_host` per host name and per address (many names for
  one server share its address), so they never hold all the worker threads; a request
  over a cap is refused at once (:class:`FetchBusy`) rather than queued;
- **hang-up**: the caller may pass ``abandoned`` (the client that asked went away): the
  body is no longer read once it is set.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from connectors.safe_fetch import FetchError, FetchPolicy, resolve_checked

__all__ = ["FetchAbandoned", "FetchBounds", "FetchBusy", "UnusableUrl", "guarded_request"]


class FetchBusy(FetchError):
    """Too many requests to that host (or in all) are under way: refused without trying."""


class FetchAbandoned(FetchError):
    """The caller went away: the fetch stopped, which says nothing about the other end."""


class UnusableUrl(FetchError):
    """The URL cannot be fetched from here at all (malformed, not https, unresolvable or
    not a public address): the spec's ``invalid_profile_url`` (400), not a failed fetch."""


@dataclass(frozen=True)
class FetchBounds:
    """What one outbound request may cost."""

    deadline_s: float = 5.0
    read_s: float = 2.0
    grace_s: float = 1.0
    min_bytes_per_s: int = 8 * 1024
    max_bytes: int = 256 * 1024
    in_flight: int = 16
    per_host: int = 4


class _Slots:
    """Counters of requests under way: in all, per host name, per address."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0
        self._per: dict[str, int] = {}

    @contextmanager
    def total(self, bounds: FetchBounds) -> Iterator[None]:
        with self._lock:
            if self._total >= bounds.in_flight:
                raise FetchBusy("too many outbound requests are under way; retry shortly")
            self._total += 1
        try:
            yield
        finally:
            with self._lock:
                self._total -= 1

    @contextmanager
    def hosts(self, names: list[str], bounds: FetchBounds) -> Iterator[None]:
        with self._lock:
            if any(self._per.get(name, 0) >= bounds.per_host for name in names):
                raise FetchBusy(f"too many requests to {names[0]!r} are under way; retry shortly")
            for name in names:
                self._per[name] = self._per.get(name, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                for name in names:
                    left = self._per[name] - 1
                    if left:
                        self._per[name] = left
                    else:
                        del self._per[name]


_SLOTS = _Slots()


def _pinned(url: str, policy: FetchPolicy) -> tuple[str, str, dict[str, str], dict[str, Any]]:
    """The URL with the checked address in place of the name, that address, the ``Host``
    header and the TLS extensions (:class:`UnusableUrl` where there is none)."""
    try:
        return _pin(url, policy)
    except FetchError as exc:
        raise UnusableUrl(str(exc)) from None
    except ValueError:  # urlsplit's answer to e.g. an unclosed IPv6 literal
        raise UnusableUrl(f"not a URL: {url[:200]!r}") from None


def _pin(url: str, policy: FetchPolicy) -> tuple[str, str, dict[str, str], dict[str, Any]]:
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
    return pinned, str(ip), {"Host": host_header}, extensions


def _read_bounded(
    response: httpx.Response,
    url: str,
    bounds: FetchBounds,
    started: float,
    abandoned: Callable[[], bool] | None,
) -> bytes:
    size, chunks = 0, []
    body_started = time.monotonic()  # the rate is the body's, from the end of the headers
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > bounds.max_bytes:
            raise FetchError(f"{url[:200]} answered more than {bounds.max_bytes} bytes")
        chunks.append(chunk)
        now = time.monotonic()
        if now - started > bounds.deadline_s:
            raise FetchError(f"{url[:200]} took longer than {bounds.deadline_s:g} s")
        streaming = now - body_started
        if streaming > bounds.grace_s and size / streaming < bounds.min_bytes_per_s:
            raise FetchError(f"{url[:200]} sends slower than {bounds.min_bytes_per_s} bytes/s")
        if abandoned is not None and abandoned():
            raise FetchAbandoned("the request that needed this fetch was abandoned")
    return b"".join(chunks)


def guarded_request(
    method: str,
    url: str,
    policy: FetchPolicy,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    bounds: FetchBounds | None = None,
    abandoned: Callable[[], bool] | None = None,
) -> httpx.Response:
    """One request to ``url`` under the guards and bounds above; the response is read.

    Raises :class:`FetchError` (:class:`FetchBusy` over a cap) or ``httpx.HTTPError``.
    """
    bounds = bounds or FetchBounds()
    started = time.monotonic()
    with _SLOTS.total(bounds):
        pinned, address, host, extensions = _pinned(url, policy)
        names = [f"host {host['Host'].lower()}", f"address {address}"]
        with _SLOTS.hosts(names, bounds):
            left = bounds.deadline_s - (time.monotonic() - started)
            if left <= 0:
                raise FetchError(f"{url[:200]} took longer than {bounds.deadline_s:g} s")
            step = min(bounds.read_s, left)
            timeout = httpx.Timeout(step, connect=step, pool=step)
            with httpx.Client(timeout=timeout, follow_redirects=False) as client:
                request = client.build_request(
                    method, pinned, content=content, headers={**(headers or {}), **host}
                )
                request.extensions.update(extensions)
                response = client.send(request, stream=True)
                try:
                    body = _read_bounded(response, url, bounds, started, abandoned)
                finally:
                    response.close()
    response._content = body
    return response
