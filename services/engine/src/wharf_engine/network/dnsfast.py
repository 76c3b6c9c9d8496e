"""The DNS server's fast path: a plain query for one of the engine's names, answered without dnspython.

Nearly every query a container sends is one question (``A`` or ``AAAA`` of a container name),
uncompressed, with at most an EDNS OPT record. Parsing and rendering that through dnspython's object
model is most of the engine's CPU per query (docs/performance.md); this reads the question by hand,
copies its bytes into the answer (so the asker's letter case comes back as sent) and appends the
``A`` records with a pointer to it. Anything else (other opcodes, several questions, compressed or
odd names, records beyond one OPT) returns None from :func:`parse` and takes the dnspython path.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

HEADER = struct.Struct("!HHHHHH")
RR = struct.Struct("!HHIH")  # type, class, ttl, rdlength (after the owner name)
QR, AA, TC, RD, RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080
NXDOMAIN = 3
TYPE_A, TYPE_OPT, TYPE_ANY = 1, 41, 255
CLASS_IN = 1
TYPE_PTR = 12
EDNS_PAYLOAD = 1232  # what the server offers back (the usual safe UDP size)
UDP_PAYLOAD = 512


@dataclass(frozen=True, slots=True)
class SimpleQuery:
    qid: int
    recursion: bool
    question: bytes  # the question section as sent
    name: str  # lower case, no final dot
    qtype: int
    qclass: int
    edns_payload: int | None  # the asker's EDNS UDP size, None without EDNS


def parse(wire: bytes) -> SimpleQuery | None:
    """The query, when it is simple enough for the fast path."""
    if len(wire) < HEADER.size + 5:
        return None
    qid, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(wire)
    if flags & QR or (flags >> 11) & 0xF or qdcount != 1 or ancount or nscount or arcount > 1:
        return None
    pos, labels = HEADER.size, []
    while True:
        length = wire[pos]
        pos += 1
        if length == 0:
            break
        if length > 63 or pos + length >= len(wire):
            return None
        label = wire[pos : pos + length]
        if not all(0x2D <= c <= 0x7A and c not in (0x2E, 0x2F) for c in label):  # letters, digits, -, _
            return None
        labels.append(label.decode("ascii").lower())
        pos += length
    if pos + 4 > len(wire):
        return None
    qtype, qclass = struct.unpack_from("!HH", wire, pos)
    end = pos + 4
    payload = None
    if arcount:  # one OPT record: root name, type 41, the payload in the class field
        if wire[end : end + 1] != b"\x00" or end + 11 > len(wire):
            return None
        rtype, rclass, _ttl, rdlength = RR.unpack_from(wire, end + 1)
        if rtype != TYPE_OPT or end + 11 + rdlength != len(wire):
            return None
        payload = max(rclass, UDP_PAYLOAD)
    elif end != len(wire):
        return None
    return SimpleQuery(
        qid, bool(flags & RD), wire[HEADER.size : end], ".".join(labels), qtype, qclass, payload
    )


def response(query: SimpleQuery, addresses: list[str], *, max_size: int | None = None) -> bytes:
    """The authoritative answer: the ``A`` records (none for other types), NXDOMAIN for ``[]``."""
    limit = max_size if max_size is not None else (query.edns_payload or UDP_PAYLOAD)
    flags = QR | AA | RA | (RD if query.recursion else 0)
    records = b""
    count = 0
    if not addresses:
        flags |= NXDOMAIN
    elif query.qtype in (TYPE_A, TYPE_ANY):
        for address in addresses:
            try:
                packed = ipaddress.IPv4Address(address).packed
            except ValueError:
                continue
            records += b"\xc0\x0c" + RR.pack(TYPE_A, CLASS_IN, 0, len(packed)) + packed
            count += 1
    opt = b"\x00" + RR.pack(TYPE_OPT, EDNS_PAYLOAD, 0, 0) if query.edns_payload is not None else b""
    size = HEADER.size + len(query.question) + len(records) + len(opt)
    if size > limit:  # too big for the asker's UDP: truncated, it asks again over TCP
        flags |= TC
        records, count = b"", 0
    header = HEADER.pack(query.qid, flags, 1, count, 0, 1 if opt else 0)
    return header + query.question + records + opt


__all__ = ["SimpleQuery", "parse", "response"]
