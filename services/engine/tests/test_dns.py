"""The engine's DNS server on loopback, with a fake name table and fake upstream resolvers (no real ones)."""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import cast

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from wharf_engine.network.dns import DnsServer, Upstream, resolv_conf_nameservers

pytestmark = pytest.mark.timeout(30)

WEB_CLIENT = "127.0.0.2"  # shares a network with "web"
OTHER_CLIENT = "127.0.0.3"  # shares none
STRANGER = "127.0.0.4"  # no container of the engine's


class FakeTable:
    def __init__(self) -> None:
        self.names: dict[str, dict[str, list[str]]] = {WEB_CLIENT: {"web": ["10.0.0.5"], "db": ["10.0.0.6"]}}
        self.ptr: dict[str, dict[str, str]] = {WEB_CLIENT: {"10.0.0.5": "web"}}
        self.dns: dict[str, list[Upstream]] = {}

    def resolve(self, client: str, name: str) -> list[str] | None:
        known = self.names.get(client, {})
        if name in known:
            return known[name]
        return [] if "." not in name else None  # single labels are the engine's: never forwarded

    def reverse(self, client: str, address: str) -> str | None:
        return self.ptr.get(client, {}).get(address)

    def forwarders(self, client: str) -> Sequence[Upstream] | None:
        if client == STRANGER:
            return None
        return self.dns.get(client, [])


class FakeUpstream(asyncio.DatagramProtocol):
    """A resolver on loopback that knows one name (``known.example``) or, silent, never answers."""

    def __init__(self, address: str = "10.9.9.9", *, silent: bool = False) -> None:
        self.address = address
        self.silent = silent
        self.queries = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def reply(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        if query.question[0].name.to_text() == "known.example.":
            response.answer.append(dns.rrset.from_text("known.example.", 60, "IN", "A", self.address))
        else:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queries += 1
        if not self.silent and self.transport is not None:
            self.transport.sendto(self.reply(data), addr)


async def start_upstream(host: str = "127.0.0.1", **kwargs: bool | str) -> tuple[FakeUpstream, Upstream]:
    fake = FakeUpstream(**kwargs)  # type: ignore[arg-type]
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: fake, local_addr=(host, 0)
    )
    return fake, Upstream(host, int(transport.get_extra_info("sockname")[1]))


def unused_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Scenario = Callable[[DnsServer, int, FakeTable], Awaitable[None]]


def run(scenario: Scenario, upstreams: Sequence[Upstream] = (), *, timeout: float = 1.0) -> None:
    async def main() -> None:
        table = FakeTable()
        server = DnsServer(table, upstreams, timeout=timeout)
        port = await server.listen("127.0.0.1", 0)
        try:
            await scenario(server, port, table)
        finally:
            await server.close_all()

    asyncio.run(main())


async def ask(
    port: int,
    name: str,
    rdtype: str = "A",
    *,
    source: str = WEB_CLIENT,
    tcp: bool = False,
    timeout: float = 5,
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    if tcp:
        return await dns.asyncquery.tcp(query, "127.0.0.1", timeout=timeout, port=port, source=source)
    return await dns.asyncquery.udp(query, "127.0.0.1", timeout=timeout, port=port, source=source)


def addresses(response: dns.message.Message) -> list[str]:
    return [rr.to_text() for rrset in response.answer for rr in rrset]


def test_container_name_answered_only_to_containers_that_share_its_network() -> None:
    async def scenario(server: DnsServer, port: int, table: FakeTable) -> None:
        response = await ask(port, "web")
        assert response.rcode() == dns.rcode.NOERROR and addresses(response) == ["10.0.0.5"]
        assert response.flags & dns.flags.AA and response.answer[0].ttl == 0
        assert addresses(await ask(port, "WEB.")) == ["10.0.0.5"]  # DNS names are case-insensitive
        assert (await ask(port, "web", source=OTHER_CLIENT)).rcode() == dns.rcode.NXDOMAIN
        table.names[WEB_CLIENT]["web"] = ["10.0.0.9"]  # restarted with a new address: answered at once
        assert addresses(await ask(port, "web")) == ["10.0.0.9"]

    run(scenario)


def test_aaaa_of_a_container_name_is_nodata_not_nxdomain() -> None:
    async def scenario(server: DnsServer, port: int, table: FakeTable) -> None:
        response = await ask(port, "web", "AAAA")
        assert response.rcode() == dns.rcode.NOERROR and response.answer == []

    run(scenario)


def test_unknown_single_label_name_is_nxdomain_at_once_even_without_upstreams() -> None:
    async def scenario(server: DnsServer, port: int, table: FakeTable) -> None:
        started = time.monotonic()
        response = await ask(port, "nosuchcontainer")
        assert response.rcode() == dns.rcode.NXDOMAIN
        assert time.monotonic() - started < 0.5

    run(scenario, [Upstream("127.0.0.1", unused_udp_port())])


def test_other_names_are_forwarded_and_upstream_nxdomain_passed_on() -> None:
    async def main() -> None:
        fake, upstream = await start_upstream()
        server = DnsServer(FakeTable(), [upstream], timeout=1.0)
        port = await server.listen("127.0.0.1", 0)
        try:
            assert addresses(await ask(port, "known.example")) == ["10.9.9.9"]
            assert addresses(await ask(port, "known.example", tcp=True)) == ["10.9.9.9"]
            started = time.monotonic()
            response = await ask(port, "unknown.example")
            assert response.rcode() == dns.rcode.NXDOMAIN and time.monotonic() - started < 0.5
            assert fake.queries == 3
        finally:
            await server.close_all()

    asyncio.run(main())


def test_silent_upstream_gives_servfail_within_the_timeout() -> None:
    async def main() -> None:
        fake, upstream = await start_upstream(silent=True)
        server = DnsServer(FakeTable(), [upstream], timeout=0.5)
        port = await server.listen("127.0.0.1", 0)
        try:
            started = time.monotonic()
            response = await ask(port, "known.example")
            elapsed = time.monotonic() - started
            assert response.rcode() == dns.rcode.SERVFAIL
            assert 0.4 < elapsed < 1.5 and fake.queries == 1
        finally:
            await server.close_all()

    asyncio.run(main())


def test_unreachable_upstream_is_skipped_for_the_next_one() -> None:
    async def main() -> None:
        _, good = await start_upstream()
        dead = Upstream("127.0.0.1", unused_udp_port())
        server = DnsServer(FakeTable(), [dead, good], timeout=2.0)
        port = await server.listen("127.0.0.1", 0)
        try:
            started = time.monotonic()
            assert addresses(await ask(port, "known.example")) == ["10.9.9.9"]
            assert time.monotonic() - started < 2.5  # within the bound: the dead one gets its share at most
            server.upstreams = [dead]
            assert (await ask(port, "known.example")).rcode() == dns.rcode.SERVFAIL
            server.upstreams = []
            assert (await ask(port, "known.example")).rcode() == dns.rcode.SERVFAIL
        finally:
            await server.close_all()

    asyncio.run(main())


def test_containers_own_dns_servers_are_its_upstreams() -> None:
    async def main() -> None:
        _, engine_default = await start_upstream(address="10.1.1.1")
        _, own = await start_upstream(address="10.2.2.2")
        table = FakeTable()
        table.dns[WEB_CLIENT] = [own]
        server = DnsServer(table, [engine_default], timeout=1.0)
        port = await server.listen("127.0.0.1", 0)
        try:
            assert addresses(await ask(port, "known.example")) == ["10.2.2.2"]
            assert addresses(await ask(port, "known.example", source=OTHER_CLIENT)) == ["10.1.1.1"]
        finally:
            await server.close_all()

    asyncio.run(main())


def test_tcp_queries_and_ptr_records() -> None:
    async def scenario(server: DnsServer, port: int, table: FakeTable) -> None:
        assert addresses(await ask(port, "db", tcp=True)) == ["10.0.0.6"]
        response = await ask(port, "5.0.0.10.in-addr.arpa", "PTR")
        assert addresses(response) == ["web."]
        unknown = await ask(port, "7.0.0.10.in-addr.arpa", "PTR")  # forwarded: no upstream here
        assert unknown.rcode() == dns.rcode.SERVFAIL

    run(scenario)


def test_large_answer_over_udp_is_truncated_and_whole_over_tcp() -> None:
    async def scenario(server: DnsServer, port: int, table: FakeTable) -> None:
        table.names[WEB_CLIENT]["many"] = [f"10.0.1.{i}" for i in range(1, 101)]
        query = dns.message.make_query("many", "A", use_edns=False)
        udp = await dns.asyncquery.udp(
            query, "127.0.0.1", timeout=5, port=port, source=WEB_CLIENT, raise_on_truncation=False
        )
        assert udp.flags & dns.flags.TC
        assert len(addresses(await ask(port, "many", tcp=True))) == 100

    run(scenario)


def test_garbage_gets_formerr_or_nothing_and_the_server_answers_on() -> None:
    async def scenario(server: DnsServer, port: int, table: FakeTable) -> None:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.bind((WEB_CLIENT, 0))
            await loop.sock_connect(sock, ("127.0.0.1", port))
            sock.send(b"\x12\x34\x01\x00\x00\x05\x00\x00\x00\x00\x00\x00garbage")  # 5 questions, none there
            reply = dns.message.from_wire(await asyncio.wait_for(loop.sock_recv(sock, 512), 5))
            assert reply.id == 0x1234 and reply.rcode() == dns.rcode.FORMERR
            sock.send(b"\x01")  # too short for a header: dropped
            response = dns.message.make_response(dns.message.make_query("web", "A"))
            sock.send(response.to_wire())  # a response, not a query: dropped (no reflection loops)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(loop.sock_recv(sock, 512), 0.3)
        assert addresses(await ask(port, "web")) == ["10.0.0.5"]

    run(scenario)


def test_close_frees_the_address_and_stops_answering() -> None:
    async def main() -> None:
        server = DnsServer(FakeTable(), [], timeout=0.5)
        port = await server.listen("127.0.0.1", 0)
        assert await server.listen("127.0.0.1", 0) == port  # listening twice is once
        assert addresses(await ask(port, "web")) == ["10.0.0.5"]
        await server.close("127.0.0.1")
        assert server.addresses == []
        with pytest.raises(dns.exception.Timeout):
            await ask(port, "web", timeout=0.3)
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):  # both sockets gone: the port binds again
            with socket.socket(socket.AF_INET, kind) as sock:
                sock.bind(("127.0.0.1", port))
        await server.close("127.0.0.1")  # closing twice is harmless

    asyncio.run(main())


def test_upstream_parse_and_resolv_conf() -> None:
    assert Upstream.parse("10.0.0.1") == Upstream("10.0.0.1", 53)
    assert Upstream.parse("127.0.0.1:5353") == Upstream("127.0.0.1", 5353)
    assert Upstream.parse("[::1]:54") == Upstream("::1", 54)
    assert Upstream.parse("fe80::1") == Upstream("fe80::1", 53)
    for bad in ("dns.example", "10.0.0.1:0", "10.0.0.1:x", ""):
        with pytest.raises(ValueError):
            Upstream.parse(bad)
    text = "# comment\nsearch example\nnameserver 10.0.0.1\nnameserver fe80::1%eth0\nnameserver bogus\n"
    assert resolv_conf_nameservers(text) == [Upstream("10.0.0.1"), Upstream("fe80::1")]


def test_a_failing_name_table_gives_servfail_not_silence() -> None:
    async def scenario(server: DnsServer, port: int, table: FakeTable) -> None:
        def broken(client: str, name: str) -> list[str] | None:
            raise RuntimeError("bug")

        table.resolve = broken  # type: ignore[method-assign]
        for tcp in (False, True):
            assert (await ask(port, "web", tcp=tcp, timeout=2)).rcode() == dns.rcode.SERVFAIL

    run(scenario)


def test_strangers_are_refused_forwarding() -> None:
    async def main() -> None:
        fake, upstream = await start_upstream()
        server = DnsServer(FakeTable(), [upstream], timeout=1.0)
        port = await server.listen("127.0.0.1", 0)
        try:
            assert (await ask(port, "known.example", source=STRANGER)).rcode() == dns.rcode.REFUSED
            assert fake.queries == 0
            assert addresses(await ask(port, "known.example")) == ["10.9.9.9"]
        finally:
            await server.close_all()

    asyncio.run(main())


def test_a_picked_port_taken_on_tcp_is_picked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Port 0: the TCP side may find the UDP side's number held by a loopback connection."""
    real_start_server = asyncio.start_server
    refusals: list[object] = []

    async def start_server(*args: object, **kwargs: object) -> asyncio.Server:
        if not refusals:
            refusals.append(args[2])
            raise OSError(errno.EADDRINUSE, "address already in use")
        return await real_start_server(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(asyncio, "start_server", start_server)

    async def scenario(server: DnsServer, port: int, table: FakeTable) -> None:
        assert addresses(await ask(port, "web")) == ["10.0.0.5"]
        assert addresses(await ask(port, "web", tcp=True)) == ["10.0.0.5"]

    run(scenario)
    assert len(refusals) == 1


def test_a_fixed_port_in_use_is_an_error() -> None:
    async def main() -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            server = DnsServer(FakeTable(), [])
            with pytest.raises(OSError) as caught:
                await server.listen("127.0.0.1", int(taken.getsockname()[1]))
            assert caught.value.errno == errno.EADDRINUSE

    asyncio.run(main())
