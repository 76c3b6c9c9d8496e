"""Where the engine's DNS server forwards names it does not own: addresses, and the host's list.

Apart from :mod:`wharf_engine.network.dns` so that settings and the daemon can name upstreams
without importing dnspython (about 18 MiB), which only a running DNS listener needs.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass

DNS_PORT = 53


@dataclass(frozen=True, slots=True)
class Upstream:
    host: str
    port: int = DNS_PORT

    @classmethod
    def parse(cls, value: str) -> Upstream:
        """``1.2.3.4``, ``1.2.3.4:5353``, ``::1`` or ``[::1]:5353``; ValueError otherwise."""
        value = value.strip()
        host, port = value, DNS_PORT
        if value.startswith("["):
            host, _, rest = value[1:].partition("]")
            if rest:
                port = int(rest.removeprefix(":"))
        elif value.count(":") == 1:
            host, _, text = value.partition(":")
            port = int(text)
        ipaddress.ip_address(host)
        if not 0 < port < 65536:
            raise ValueError(f"port out of range: {value}")
        return cls(host, port)


def resolv_conf_nameservers(text: str) -> list[Upstream]:
    """The ``nameserver`` lines of a resolv.conf (unparsable ones are skipped, as the C library does)."""
    found: list[Upstream] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            with contextlib.suppress(ValueError):
                found.append(Upstream.parse(fields[1].split("%", 1)[0]))
    return found


__all__ = ["DNS_PORT", "Upstream", "resolv_conf_nameservers"]
