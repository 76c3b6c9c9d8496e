"""What the engine's TLS sends: its certificate and intermediates, never the self-signed root (every
client that checks the engine has it; the docker CLI would verify the leaf against the copy again)."""

from __future__ import annotations

import ssl
from pathlib import Path

from wharf_engine import certs

from .tlscerts import handshake, intermediate_ca, make_all, pem


def certificates_sent(server: ssl.SSLContext, client: ssl.SSLContext) -> tuple[str, list[int]]:
    """The exchange's outcome and, per TLS 1.3 Certificate message the client read, how many
    certificates it held."""
    counts: list[int] = []

    def seen(_conn: object, direction: str, _v: object, _ct: object, kind: object, data: bytes) -> None:
        if direction == "read" and kind == ssl._TLSMessageType.CERTIFICATE:  # type: ignore[attr-defined]
            position = 5 + data[4]
            end = position + 3 + int.from_bytes(data[position : position + 3], "big")
            position, count = position + 3, 0
            while position < end:
                position += 3 + int.from_bytes(data[position : position + 3], "big")
                position += 2 + int.from_bytes(data[position : position + 2], "big")
                count += 1
            counts.append(count)

    client._msg_callback = seen  # type: ignore[attr-defined]
    return handshake(server, client), counts


def test_the_leaf_alone_goes_out(tmp_path: Path) -> None:
    ca, alice = make_all(tmp_path)
    server = certs.server_context(ca / "ca.pem", ca / "server-cert.pem", ca / "server-key.pem", verify=True)
    client = ssl.create_default_context(cafile=alice / "ca.pem")
    client.load_cert_chain(alice / "cert.pem", alice / "key.pem")
    assert certificates_sent(server, client) == ("hello", [1])
    server_only = certs.server_context(None, ca / "server-cert.pem", ca / "server-key.pem", verify=False)
    assert certificates_sent(server_only, ssl.create_default_context(cafile=ca / "ca.pem")) == ("hello", [1])


def test_intermediates_go_out_without_the_root(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    root, middle = intermediate_ca(ca_dir)
    certs.make_leaf(ca_dir, "engine", server=True, sans=[])
    certs.make_leaf(ca_dir, "alice", server=False, sans=[], out=tmp_path / "alice")
    cafile = tmp_path / "trust.pem"
    cafile.write_bytes(pem(root[0], middle[0]))
    assert certs.server_chain(ca_dir / "server-cert.pem", cafile, root=False) == (
        ca_dir / "server-cert.pem"
    ).read_bytes() + pem(middle[0])
    server = certs.server_context(cafile, ca_dir / "server-cert.pem", ca_dir / "server-key.pem", verify=True)
    client = ssl.create_default_context(cadata=pem(root[0]).decode())
    client.load_cert_chain(tmp_path / "alice" / "cert.pem", tmp_path / "alice" / "key.pem")
    assert certificates_sent(server, client) == ("hello", [2])  # leaf and intermediate
