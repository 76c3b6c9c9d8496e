"""The DNS fast path against dnspython: what it takes, what it leaves to the full path, what it answers."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
from wharf_engine.network import dnsfast


def test_plain_query_answered_as_dnspython_reads_it() -> None:
    query = dns.message.make_query("Web.Front", "A", use_edns=0, payload=4096)
    query.flags &= ~dns.flags.RD
    simple = dnsfast.parse(query.to_wire())
    assert simple is not None and simple.name == "web.front" and simple.edns_payload == 4096
    reply = dns.message.from_wire(dnsfast.response(simple, ["10.0.0.5", "10.0.0.6"]))
    assert reply.id == query.id and query.is_response(reply)
    assert reply.flags & dns.flags.AA and not reply.flags & dns.flags.RD
    assert reply.question[0].name.to_text() == "Web.Front."  # the asker's case, as sent (0x20 randomising)
    assert [rr.address for rr in reply.answer[0]] == ["10.0.0.5", "10.0.0.6"] and reply.answer[0].ttl == 0
    assert reply.edns == 0 and reply.payload == dnsfast.EDNS_PAYLOAD


def test_nxdomain_and_nodata() -> None:
    simple = dnsfast.parse(dns.message.make_query("nosuch", "A").to_wire())
    assert simple is not None
    reply = dns.message.from_wire(dnsfast.response(simple, []))
    assert reply.rcode() == dns.rcode.NXDOMAIN and reply.flags & dns.flags.RD and reply.edns < 0
    aaaa = dnsfast.parse(dns.message.make_query("web", "AAAA").to_wire())
    assert aaaa is not None
    nodata = dns.message.from_wire(dnsfast.response(aaaa, ["10.0.0.5"]))
    assert nodata.rcode() == dns.rcode.NOERROR and nodata.answer == []


def test_too_big_for_udp_is_truncated() -> None:
    simple = dnsfast.parse(dns.message.make_query("many", "A").to_wire())
    assert simple is not None
    many = [f"10.0.1.{i}" for i in range(1, 60)]
    reply = dns.message.from_wire(dnsfast.response(simple, many))
    assert reply.flags & dns.flags.TC and reply.answer == []
    whole = dns.message.from_wire(dnsfast.response(simple, many, max_size=65535))
    assert len(whole.answer[0]) == 59


def test_anything_unusual_is_left_to_the_full_path() -> None:
    two = dns.message.make_query("a", "A")
    two.question.append(dns.message.make_query("b", "A").question[0])
    update = dns.message.make_query("a", "A")
    update.set_opcode(dns.opcode.UPDATE)
    response = dns.message.make_response(dns.message.make_query("a", "A"))
    dotted = b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03a.b\x00\x00\x01\x00\x01"
    for wire in (
        two.to_wire(),
        update.to_wire(),
        response.to_wire(),
        dotted,
        b"\x00" * 11,
        b"",
        dns.message.make_query("a", "A").to_wire() + b"trailing",
    ):
        assert dnsfast.parse(wire) is None
