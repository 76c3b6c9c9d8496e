"""The DNS server's general path (dnspython): queries the fast path of
:mod:`~wharf_engine.network.dnsfast` does not take (PTR, other classes and types, names forwarded
upstream, malformed queries), and SERVFAIL when the name table fails.

Imported by :meth:`DnsServer.answer <wharf_engine.network.dns.DnsServer.answer>` on first use.
"""

from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import dns.rrset
import structlog

from .dns import UDP_PAYLOAD

if TYPE_CHECKING:
    from .dns import DnsServer

log = structlog.get_logger(__name__)


async def answer(
    server: DnsServer, wire: bytes, client: str, *, max_size: int = UDP_PAYLOAD, tcp: bool = False
) -> bytes | None:
    """The reply to the query ``wire`` from ``client`` (None: no reply, the datagram was no query).

    A failing name table is the engine's bug, not the asker's: it gets SERVFAIL, never silence."""
    try:
        return await _answer(server, wire, client, max_size=max_size, tcp=tcp)
    except Exception:
        log.exception("dns.answer_failed", client=client)
        if len(wire) < 12 or wire[2] & 0x80:
            return None
        failed = dns.message.Message(id=struct.unpack("!H", wire[:2])[0])
        failed.flags = dns.flags.QR | dns.flags.RA
        failed.set_rcode(dns.rcode.SERVFAIL)
        return failed.to_wire()


async def _answer(server: DnsServer, wire: bytes, client: str, *, max_size: int, tcp: bool) -> bytes | None:
    fast = server.answer_now(wire, client, tcp=tcp)
    if fast is not None:
        return fast
    try:
        query = dns.message.from_wire(wire)
    except dns.message.ShortHeader:
        return None
    except dns.exception.DNSException:
        (qid, flags) = struct.unpack("!HH", wire[:4])
        if flags & dns.flags.QR:
            return None
        bad = dns.message.Message(id=qid)
        bad.flags = dns.flags.QR
        bad.set_rcode(dns.rcode.FORMERR)
        return bad.to_wire()
    if query.flags & dns.flags.QR:
        return None
    if query.opcode() != dns.opcode.QUERY:
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.NOTIMP)
    elif len(query.question) != 1:
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.FORMERR)
    else:
        response = _local(server, query, client) or await _forward(server, query, client, tcp=tcp)
    if not tcp:
        max_size = max(UDP_PAYLOAD, query.payload if query.edns >= 0 else UDP_PAYLOAD)
    try:
        return response.to_wire(max_size=max_size)
    except dns.exception.TooBig:
        truncated = dns.message.make_response(query)
        truncated.flags |= dns.flags.TC
        truncated.set_rcode(response.rcode())
        return truncated.to_wire(max_size=max_size)


def _local(server: DnsServer, query: dns.message.Message, client: str) -> dns.message.Message | None:
    question = query.question[0]
    if question.rdclass != dns.rdataclass.IN:
        return None
    name = question.name.to_text(omit_final_dot=True).lower()
    if question.rdtype == dns.rdatatype.PTR:
        try:
            address = dns.reversename.to_address(question.name)
        except (dns.exception.SyntaxError, ValueError):
            return None
        target = server.table.reverse(client, address)
        if target is None:
            return None
        response = _authoritative(query)
        response.answer.append(
            dns.rrset.from_text(question.name, 0, "IN", "PTR", dns.name.from_text(target).to_text())
        )
        return response
    addresses = server.table.resolve(client, name)
    if addresses is None:
        return None
    response = _authoritative(query)
    if not addresses:
        response.set_rcode(dns.rcode.NXDOMAIN)
    elif question.rdtype in (dns.rdatatype.A, dns.rdatatype.ANY):
        response.answer.append(dns.rrset.from_text_list(question.name, 0, "IN", "A", addresses))
    return response


async def _forward(
    server: DnsServer, query: dns.message.Message, client: str, *, tcp: bool
) -> dns.message.Message:
    own = server.table.forwarders(client)
    if own is None:
        refused = dns.message.make_response(query)
        refused.set_rcode(dns.rcode.REFUSED)
        return refused
    upstreams = list(own) or server.upstreams
    loop = asyncio.get_running_loop()
    deadline = loop.time() + server.timeout
    for index, upstream in enumerate(upstreams):
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        share = remaining / (len(upstreams) - index)  # the last one gets what is left
        try:
            if tcp:  # UDP first, TCP when the answer did not fit, as a stub resolver does
                response, _ = await dns.asyncquery.udp_with_fallback(
                    query, upstream.host, timeout=share, port=upstream.port, ignore_unexpected=True
                )
                return response
            return await dns.asyncquery.udp(
                query, upstream.host, timeout=share, port=upstream.port, ignore_unexpected=True
            )
        except (dns.exception.DNSException, OSError, EOFError) as exc:
            log.debug("dns.upstream_failed", upstream=upstream.host, port=upstream.port, error=repr(exc))
    failed = dns.message.make_response(query)
    failed.set_rcode(dns.rcode.SERVFAIL)
    return failed


def _authoritative(query: dns.message.Message) -> dns.message.Message:
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA | dns.flags.RA
    return response


__all__ = ["answer"]
