"""Where webhooks may go: the URL rules and the address policy (SSRF protection).

A target is checked twice, when the webhook is added and again before every attempt, and the
attempt connects to the address that was checked (:class:`Target` pins it), so a name that
resolves elsewhere between the check and the connection (DNS rebinding) cannot redirect it.

Rules, in order:

* the URL is ``http`` or ``https``, has a host and carries no credentials (``user:pw@``);
* every address the host resolves to is checked; one refused address refuses the target;
* an address in ``deny`` is refused, always;
* an address in ``allow`` is accepted;
* otherwise loopback, private, link-local, multicast, unspecified, reserved and any other
  non-public address is refused (an IPv4-mapped IPv6 address counts as its IPv4 address).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from .errors import HostNotFound, TargetRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
"""``(host, port) -> addresses``; raises :class:`OSError` when the name does not resolve."""

SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2000


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order (IP literals as themselves)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for *_, sockaddr in found:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL and the address to connect to."""

    url: httpx.URL
    address: str

    @property
    def pinned_url(self) -> httpx.URL:
        """The URL with its host replaced by the checked address (the connection goes there)."""
        return self.url.copy_with(host=self.address)

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")

    @property
    def server_name(self) -> str:
        """What TLS sends as SNI and checks the certificate against: the name, not the address."""
        return self.url.raw_host.decode("ascii")


def _networks(cidrs: Sequence[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(c.strip(), strict=False) for c in cidrs]


class TargetPolicy:
    def __init__(
        self, allow: Sequence[str] = (), deny: Sequence[str] = (), resolver: Resolver = resolve_host
    ):
        self.allow = _networks(allow)
        self.deny = _networks(deny)
        self.resolver = resolver

    @staticmethod
    def parse(url: str) -> httpx.URL:
        """The URL if its form is acceptable (scheme, host, no credentials); no DNS lookup."""
        if not url or len(url) > MAX_URL_LENGTH:
            raise TargetRefused(f"The URL must have between 1 and {MAX_URL_LENGTH} characters")
        if any(c.isspace() or ord(c) < 32 for c in url):
            raise TargetRefused("The URL may not contain spaces or control characters")
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError, TypeError):
            raise TargetRefused(f"Not a valid URL: {url[:200]}") from None
        if parsed.scheme not in SCHEMES:
            raise TargetRefused(f"Only http:// and https:// webhook URLs are allowed, not {parsed.scheme}://")
        if parsed.userinfo:
            raise TargetRefused("Webhook URLs may not contain credentials (user:password@)")
        if not parsed.host:
            raise TargetRefused("The webhook URL needs a host")
        return parsed

    def refusal(self, address: str) -> str | None:
        """Why ``address`` may not be called, or None when it may."""
        try:
            ip: IPAddress = ipaddress.ip_address(address)
        except ValueError:
            return f"{address} is not an IP address"
        forms: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            forms.append(ip.ipv4_mapped)
        if any(form in net for form in forms for net in self.deny if form.version == net.version):
            return f"{address} is in the denied networks"
        if any(form in net for form in forms for net in self.allow if form.version == net.version):
            return None
        plain = forms[-1]
        for kind, matches in (
            ("unspecified", plain.is_unspecified),
            ("loopback", plain.is_loopback),
            ("link-local", plain.is_link_local),
            ("multicast", plain.is_multicast),
            ("reserved", plain.is_reserved),
            ("private", plain.is_private),
        ):
            if matches:
                return f"{address} is a {kind} address"
        if not plain.is_global:
            return f"{address} is not a public address"
        return None

    def check(self, url: str) -> Target:
        """Parse, resolve and check ``url``: the target to connect to, or :class:`TargetRefused`
        (:class:`HostNotFound` when the name does not resolve)."""
        parsed = self.parse(url)
        host = parsed.raw_host.decode("ascii")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError):
            raise HostNotFound(host) from None
        if not addresses:
            raise HostNotFound(host)
        for address in addresses:
            reason = self.refusal(address)
            if reason is not None:
                shown = reason if address == host else f"{host} resolves to {reason}"
                raise TargetRefused(f"Webhooks may not call this address: {shown}")
        return Target(parsed, addresses[0].split("%", 1)[0])


__all__ = ["Resolver", "Target", "TargetPolicy", "resolve_host"]
