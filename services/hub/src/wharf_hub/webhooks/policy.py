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
  non-public address is refused.

An IPv6 address that carries an IPv4 address is judged by that IPv4 address too, since
packets to it end up there: IPv4-mapped (``::ffff:0:0/96``), IPv4-compatible (``::/96``),
IPv4-translated (``::ffff:0:0:0/96``), NAT64 (``64:ff9b::/96``), 6to4 (``2002::/16``) and
Teredo (``2001::/32``, server and client). Such an address is allowed when the IPv6 address
itself or every IPv4 address it carries is in ``allow``, and refused when any of them is in
``deny`` or is not public. The local-use NAT64 prefix ``64:ff9b:1::/48``, whose layout the
operator chooses, is never public.
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


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
TRANSLATED = 0xFFFF0000  # the upper 96 bits of ::ffff:0:a.b.c.d (SIIT)


def embedded_ipv4(ip: IPAddress) -> tuple[list[ipaddress.IPv4Address], bool]:
    """The IPv4 addresses an IPv6 address carries, and whether it is *only* a way of writing
    them (mapped, compatible, translated, NAT64: the IPv6 form says nothing on its own)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return [], False
    value = int(ip)
    low = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped], True
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d, but not :: nor ::1
        return [low], True
    if value >> 32 == TRANSLATED or ip in NAT64:
        return [low], True
    if ip.sixtofour is not None:
        return [ip.sixtofour], False
    if ip.teredo is not None:
        return list(ip.teredo), False
    return [], False


def _networks(cidrs: Sequence[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(c.strip(), strict=False) for c in cidrs]


def _non_public(ip: IPAddress) -> str | None:
    """What makes ``ip`` unfit for a webhook (``"a loopback address"``), or None when it is public."""
    for kind, matches in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if matches:
            return f"a {kind} address"
    return None if ip.is_global else "not a public address"


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
        carried, only_carried = embedded_ipv4(ip)
        forms: list[IPAddress] = [ip, *carried]
        if any(self._in(form, self.deny) for form in forms):
            return f"{address} is in the denied networks"
        if self._in(ip, self.allow) or (carried and all(self._in(v4, self.allow) for v4 in carried)):
            return None
        if ip in LOCAL_NAT64:
            return f"{address} is a local-use NAT64 address, not a public address"
        judged = carried if only_carried else [*carried, ip]
        for form in judged:
            why = _non_public(form)
            if why is not None:
                return f"{address} is {why}" if form == ip else f"{address} carries {form}, {why}"
        return None

    @staticmethod
    def _in(ip: IPAddress, networks: list[IPNetwork]) -> bool:
        return any(ip in net for net in networks if ip.version == net.version)

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


__all__ = ["Resolver", "Target", "TargetPolicy", "embedded_ipv4", "resolve_host"]
