"""What a container's resolver reads: its /etc/resolv.conf and the ``--add-host`` lines of /etc/hosts.

As Docker writes them (``HostConfig.Dns``, ``DnsSearch``, ``DnsOptions``, ``ExtraHosts``):

- on the default bridge, the host's resolv.conf with its loopback nameservers left out (they are
  not reachable from the container's own network namespace); each of ``--dns``, ``--dns-search``,
  ``--dns-option`` given replaces that part of it (``--dns-search .`` means no search line);
- on a user-defined network the only nameserver is the engine's DNS server (``embedded``), with the
  search domains and options as above plus ``ndots:0`` unless an ``ndots`` is given, as Docker writes
  for 127.0.0.11; the ``--dns`` servers become that server's upstreams for this container;
- with ``--net host``, the host's file as it is (the container shares the host's network).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from wharf_common.errors import InvalidArgument

from wharf_engine.shapes import HostConfig

HOST_GATEWAY = "host-gateway"
"""``--add-host name:host-gateway``: the host's address on the default bridge, as Docker resolves it."""

MAX_SEARCH = 6  # the C library reads at most six search domains


def parse_extra_host(value: str) -> tuple[str, str]:
    """``name:ip`` or ``name=ip`` (an IPv6 address may be in brackets) as (name, ip); 400 otherwise."""
    name, sep, address = value.partition("=")
    if not sep:
        name, sep, address = value.partition(":")
    if not sep or not name or any(c.isspace() for c in name):
        raise InvalidArgument(f"bad format for add-host: {value!r}")
    address = address.removeprefix("[").removesuffix("]")
    if address != HOST_GATEWAY:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise InvalidArgument(f"invalid IP address in add-host: {address!r}") from None
    return name, address


def validate(host_config: Mapping[str, Any]) -> None:
    """At create: every DNS server an IP address, every search domain and option one word, every
    extra host ``name:ip``; a 400 names the bad value."""
    for server in host_config.get("Dns") or []:
        try:
            ipaddress.ip_address(str(server))
        except ValueError:
            raise InvalidArgument(f"invalid IP address in dns: {server!r}") from None
    search = host_config.get("DnsSearch") or []
    if len(search) > MAX_SEARCH:
        raise InvalidArgument(f"too many dns search domains: {len(search)} (at most {MAX_SEARCH})")
    for domain in search:
        if not domain or len(domain) > 253 or any(c.isspace() for c in domain):
            raise InvalidArgument(f"invalid dns search domain: {domain!r}")
    for option in host_config.get("DnsOptions") or []:
        if not option or any(c.isspace() for c in option):
            raise InvalidArgument(f"invalid dns option: {option!r}")
    for entry in host_config.get("ExtraHosts") or []:
        parse_extra_host(str(entry))


def normalize(host_config: HostConfig) -> None:
    """At create: :func:`validate`, then the empty values Docker's inspect shows for what was not given."""
    validate(host_config)
    host_config["Dns"] = list(host_config.get("Dns") or [])
    host_config["DnsOptions"] = list(host_config.get("DnsOptions") or [])
    host_config["DnsSearch"] = list(host_config.get("DnsSearch") or [])
    host_config["ExtraHosts"] = list(host_config.get("ExtraHosts") or []) or None


def extra_hosts(host_config: Mapping[str, Any], host_gateway: str) -> str:
    """/etc/hosts lines for ``--add-host``, in the order given."""
    lines = ""
    for entry in host_config.get("ExtraHosts") or []:
        name, address = parse_extra_host(str(entry))
        lines += f"{host_gateway if address == HOST_GATEWAY else address}\t{name}\n"
    return lines


def _parse(text: str) -> tuple[list[str], list[str], list[str]]:
    nameservers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith(("#", ";")):
            continue
        if fields[0] == "nameserver" and len(fields) > 1:
            nameservers.append(fields[1])
        elif fields[0] in ("search", "domain"):
            search = fields[1:]  # the last of them wins, as in the C library
        elif fields[0] == "options":
            options += fields[1:]
    return nameservers, search, options


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def resolv_conf(
    host_text: str, host_config: Mapping[str, Any], *, embedded: str | None = None, host_network: bool = False
) -> str:
    """The container's resolv.conf, from the host's (``host_text``) and its HostConfig."""
    dns: Sequence[str] = host_config.get("Dns") or []
    search_given: Sequence[str] = host_config.get("DnsSearch") or []
    options_given: Sequence[str] = host_config.get("DnsOptions") or []
    if host_network and not (dns or search_given or options_given):
        return host_text
    if embedded is None and not (dns or search_given or options_given):
        kept = [ln for ln in host_text.splitlines() if not _is_loopback_nameserver(ln)]
        return "\n".join(kept) + "\n"
    host_servers, host_search, host_options = _parse(host_text)
    search = list(search_given or host_search)
    if search == ["."]:
        search = []
    options = list(options_given or host_options)
    if embedded is not None:
        servers = [embedded]
        if not any(o.startswith("ndots:") for o in options):
            options.append("ndots:0")
    else:
        servers = list(dns or [s for s in host_servers if not _loopback(s)])
    text = "".join(f"nameserver {server}\n" for server in servers)
    if search:
        text += f"search {' '.join(search)}\n"
    if options:
        text += f"options {' '.join(options)}\n"
    return text


def _is_loopback_nameserver(line: str) -> bool:
    fields = line.split()
    return len(fields) >= 2 and fields[0] == "nameserver" and _loopback(fields[1])


__all__ = ["HOST_GATEWAY", "extra_hosts", "normalize", "parse_extra_host", "resolv_conf", "validate"]
