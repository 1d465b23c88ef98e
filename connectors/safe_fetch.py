"""Download an image named by someone else's data (a catalog) without letting it reach inside.

Only ``http``/``https`` to public addresses: the host is resolved once, every address it
resolves to must be public (no loopback, private, link-local, CGNAT, multicast, reserved or
cloud-metadata range, IPv4-mapped and NAT64/6to4-embedded IPv4 included), and the
connection goes to the checked address itself (the ``Host`` header and TLS SNI keep the
name), so a second DNS answer cannot swap in an internal one. Redirects are followed by
hand and each hop is checked the same way. The body is bounded while it streams, must be
declared ``image/*`` and must decode as an image.

Hosts in ``REELCART_FETCH_ALLOW_HOSTS`` skip the public-address rule (a private CDN, or the
loopback servers of tests); nothing is allowed by default.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from PIL import Image, UnidentifiedImageError

from reelcart.settings import Settings, get_settings

__all__ = [
    "FetchError",
    "FetchPolicy",
    "fetch_image",
    "is_public_address",
    "resolve_checked",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}


class FetchError(OSError):
    """The image was refused or could not be fetched; the message says why."""


@dataclass(frozen=True)
class FetchPolicy:
    """What a guarded fetch may do."""

    allow_hosts: frozenset[str] = frozenset()
    max_bytes: int = 20 << 20
    timeout_s: float = 30.0
    max_redirects: int = 5

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> FetchPolicy:
        settings = settings or get_settings()
        hosts = {h.strip().lower().strip("[]") for h in settings.fetch_allow_hosts.split(",")}
        return cls(
            allow_hosts=frozenset(h for h in hosts if h), max_bytes=settings.fetch_max_image_bytes
        )


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def is_public_address(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses (embedded IPv4 checked too)."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None and not is_public_address(embedded):
        return False
    return not (
        ip in _METADATA
        or not ip.is_global
        or ip.is_multicast
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve_checked(host: str, port: int, policy: FetchPolicy) -> IPAddress:
    """The address to connect to: every address ``host`` resolves to must be allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host!r}: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise FetchError(f"{host!r} has no address")
    allowed = host.lower() in policy.allow_hosts
    for ip in addresses:
        if not (allowed or str(ip) in policy.allow_hosts or is_public_address(ip)):
            raise FetchError(f"{host!r} resolves to {ip}, which is not a public address")
    # IPv4 first: a host without IPv6 routing still reaches a dual-stack name.
    return sorted(addresses, key=lambda ip: ip.version)[0]


def _checked_request(client: httpx.Client, url: str, policy: FetchPolicy) -> httpx.Request:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http(s) image URLs are fetched, not {url[:200]!r}")
    if not parts.hostname or parts.username or parts.password:
        raise FetchError(f"not a fetchable image URL: {url[:200]!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"bad port in {url[:200]!r}") from None
    host = parts.hostname
    ip = resolve_checked(host, port, policy)
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    pinned = parts._replace(netloc=f"{literal}:{port}").geturl()
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    return client.build_request(
        "GET",
        pinned,
        headers={"Host": host_header, "Accept": "image/*"},
        # TLS still verifies the certificate for the name, over the pinned address.
        extensions={"sni_hostname": host} if parts.scheme == "https" else {},
    )


def _download(url: str, target: Path, policy: FetchPolicy) -> str:
    with httpx.Client(timeout=policy.timeout_s, follow_redirects=False) as client:
        for _ in range(policy.max_redirects + 1):
            request = _checked_request(client, url, policy)
            response = client.send(request, stream=True)
            with contextlib.closing(response):
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise FetchError(f"{url[:200]} answered HTTP {response.status_code}")
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if not kind.startswith("image/"):
                    raise FetchError(f"{url[:200]} is {kind or 'untyped'}, not an image")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > policy.max_bytes:
                    raise FetchError(f"{url[:200]} is larger than {policy.max_bytes} bytes")
                size = 0
                with target.open("wb") as handle:
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > policy.max_bytes:
                            raise FetchError(f"{url[:200]} is larger than {policy.max_bytes} bytes")
                        handle.write(chunk)
                return url
    raise FetchError(f"more than {policy.max_redirects} redirects from {url[:200]}")


def _image_format(path: Path) -> str:
    try:
        with Image.open(path) as image:
            image.verify()
            return str(image.format or "")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise FetchError(f"not a decodable image: {exc}") from None


def fetch_image(url: str, scratch: Path, policy: FetchPolicy | None = None) -> Path:
    """Download the image at ``url`` into ``scratch`` under the guards above; its path."""
    policy = policy or FetchPolicy.from_settings()
    partial = scratch / (hashlib.sha256(url.encode()).hexdigest() + ".part")
    try:
        _download(url, partial, policy)
        fmt = _image_format(partial)
    except httpx.HTTPError as exc:
        partial.unlink(missing_ok=True)
        raise FetchError(f"could not fetch {url[:200]}: {exc}") from None
    except FetchError:
        partial.unlink(missing_ok=True)
        raise
    target = partial.with_suffix(_SUFFIXES.get(fmt, "." + fmt.lower() if fmt else ".img"))
    partial.replace(target)
    return target
