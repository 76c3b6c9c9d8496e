"""Service discovery on user networks: the engine's DNS server, its name table, the containers' resolv.conf.

Every user network's gateway has a listener of the engine's :class:`DnsServer` (opened when the
network's bridge comes up, closed when it goes), and a container attached to any user network has
that gateway as its only nameserver. A query is answered for the asking container (known by its
source address): the names (container name, aliases, short id, ``name.network``) and ``--link``
aliases of the running containers on the networks it is on; unknown single-label names are NXDOMAIN
at once (the C library's search list still tries ``name.<domain>`` afterwards, upstream); anything
else goes to the container's ``--dns`` servers, else the engine's upstreams (``dns_upstreams``, else
the host's resolv.conf as it is now, loopback ones included: the engine runs in the host's namespace).

Nothing here is cached: each answer reads the network store as it is, so connect, disconnect,
rename, restart and removal are seen by the next query.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from wharf_engine.containers.container import Container
from wharf_engine.containers.errors import NoSuchContainer
from wharf_engine.network.dns import DnsServer
from wharf_engine.network.dnsconfig import resolv_conf
from wharf_engine.network.model import Endpoint, Network
from wharf_engine.network.upstreams import Upstream, resolv_conf_nameservers

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)

HOST_RESOLV_CONF = Path("/etc/resolv.conf")


class ContainerNames:
    """The engine's :class:`~wharf_engine.network.dns.NameTable`: running endpoints of user networks."""

    def __init__(self, daemon: Daemon, upstreams: Callable[[], list[Upstream]]) -> None:
        self.daemon = daemon
        self.upstreams = upstreams  # the engine's, for containers without --dns

    def _asker(self, client: str) -> tuple[str, list[Network]] | None:
        """The container at address ``client`` and the user networks it is running on."""
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return None
        store = self.daemon.networks.store
        for network in store.networks.values():
            if address not in network.network:
                continue
            for endpoint in network.endpoints.values():
                if endpoint.ip == client:
                    cid = endpoint.container_id
                    return cid, [n for n in store.networks_of(cid) if n.endpoints[cid].active]
        return None

    def resolve(self, client: str, name: str) -> list[str] | None:
        asker = self._asker(client)
        if asker is None:
            return None
        cid, networks = asker
        links = self._host_links(cid)
        found: list[str] = []
        for network in networks:
            found += _lookup(network, cid, name, links)
            suffix = "." + network.name.lower()
            if name.endswith(suffix):  # web.mynet: that network's web
                found += _lookup(network, cid, name.removesuffix(suffix), links)
        if found:
            return list(dict.fromkeys(found))
        return [] if "." not in name else None

    def _host_links(self, cid: str) -> list[str]:
        """The asker's ``--link name:alias`` (HostConfig.Links): aliases on its user networks too."""
        try:
            return [str(link) for link in self.daemon.containers.get(cid).host_config.get("Links") or []]
        except NoSuchContainer:  # removed while its endpoint goes
            return []

    def reverse(self, client: str, address: str) -> str | None:
        asker = self._asker(client)
        if asker is None:
            return None
        for network in asker[1]:
            for endpoint in network.endpoints.values():
                if endpoint.active and endpoint.ip == address:
                    return f"{endpoint.name}.{network.name}"
        return None

    def forwarders(self, client: str) -> Sequence[Upstream] | None:
        asker = self._asker(client)
        if asker is None:
            return None  # not a container of this engine's networks: refused
        try:
            container = self.daemon.containers.get(asker[0])
        except NoSuchContainer:
            return []
        own = [Upstream(str(server)) for server in container.host_config.get("Dns") or []]
        return own or self.upstreams()


def _lookup(network: Network, asker: str, name: str, host_links: list[str]) -> list[str]:
    """Addresses of ``name`` on ``network``: endpoints' names and aliases, then the asker's links."""
    found = [e.ip for e in _active(network) if name in (n.lower() for n in e.dns_names)]
    mine = network.endpoints.get(asker)
    for link in [*(mine.links if mine is not None else []), *host_links]:
        target, _, alias = link.partition(":")
        if (alias or target).rsplit("/", 1)[-1].lower() == name:
            found += [e.ip for e in _active(network) if target.lstrip("/") in (e.name, e.container_id)]
    return found


def _active(network: Network) -> list[Endpoint]:
    return sorted((e for e in network.endpoints.values() if e.active), key=lambda e: e.order)


class HostResolvers:
    """The host's resolv.conf nameservers, read again whenever the file changes (DHCP, a VPN)."""

    def __init__(self, path: Path = HOST_RESOLV_CONF) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._found: list[Upstream] = []

    def __call__(self) -> list[Upstream]:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_ino, st.st_size)
            if stamp != self._stamp:
                self._found, self._stamp = resolv_conf_nameservers(self.path.read_text()), stamp
        except OSError:
            pass  # gone for a moment (being replaced): the last ones read
        return self._found


def dns_server(daemon: Daemon) -> DnsServer:
    """The engine's server: upstreams from ``dns_upstreams``, else the host's, as they are now."""
    settings = daemon.settings
    configured = [Upstream.parse(value) for value in settings.dns_upstreams]
    names = ContainerNames(daemon, (lambda: configured) if configured else HostResolvers())
    server = DnsServer(names, [], timeout=settings.dns_timeout, max_inflight=settings.dns_max_inflight)
    daemon.networks.store.on_change(lambda _network, cid: _refresh(daemon, cid))
    return server


def nameserver(daemon: Daemon, container: Container) -> str | None:
    """The engine's DNS address for ``container``: its first user network's gateway (None: none)."""
    for network in daemon.networks.store.networks_of(container.id):
        if network.endpoints[container.id].active and network.gateway in daemon.dns.addresses:
            return network.gateway
    return None


def _refresh(daemon: Daemon, cid: str) -> None:
    """Connect or disconnect of a running container: its resolv.conf follows (rewritten in place)."""
    if not cid:
        return
    with contextlib.suppress(NoSuchContainer, OSError):  # removed, or its directory already gone
        container = daemon.containers.get(cid)
        if not container.state.running:
            return
        text = resolv_conf(_host_resolv_conf(), container.host_config, embedded=nameserver(daemon, container))
        path = container.dir / "resolv.conf"
        if path.read_text() != text:
            with open(path, "r+") as f:  # the file is bind-mounted: its inode must stay
                f.write(text)
                f.truncate()
            log.info("dns.resolv_conf_updated", container_id=cid)


def _host_resolv_conf() -> str:
    try:
        return HOST_RESOLV_CONF.read_text()
    except OSError:
        return ""


async def network_up(daemon: Daemon, network: Network) -> None:
    """The network's DNS listener; when port 53 there is taken (a host resolver bound to every
    address), the network works on and its containers keep the host's resolvers, as on the bridge."""
    try:
        await daemon.dns.listen(network.gateway)
    except OSError as exc:
        log.error("dns.listen_failed", network_id=network.id, address=network.gateway, error=str(exc))


async def network_down(daemon: Daemon, network: Network) -> None:
    await daemon.dns.close(network.gateway)


__all__ = ["ContainerNames", "HostResolvers", "dns_server", "nameserver", "network_down", "network_up"]
