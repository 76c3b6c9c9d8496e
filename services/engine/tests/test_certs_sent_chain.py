"""What the engine's TLS sends: its certificate and intermediates, never the self-signed root (every
client that checks the engine has it; the docker CLI would verify the leaf against the copy again)."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from wharf_engine import certs


def make_all(base: Path) -> tuple[Path, Path]:
    certs.main(["--dir", str(base / "ca"), "init"])
    certs.main(["--dir", str(base / "ca"), "server"])
    certs.main(["--dir", str(base / "ca"), "client", "alice", "--out", str(base / "alice")])
    return base / "ca", base / "alice"


def authority(name: str, issuer: tuple[x509.Certificate, Any] | None = None) -> tuple[x509.Certificate, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer_cert, signer_key = issuer if issuer else (None, key)
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_cert.subject if signer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(signer_key, hashes.SHA256())
    )
    return cert, key


def pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> str:
    """Handshake over a socketpair and send a line; return it, or the server's error."""
    a, b = socket.socketpair()
    result: list[str] = []

    def serve() -> None:
        try:
            with server.wrap_socket(a, server_side=True) as s:
                result.append(s.recv(100).decode())
        except (ssl.SSLError, OSError) as exc:
            result.append(f"refused: {exc}")

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client.wrap_socket(b, server_hostname="127.0.0.1") as c:
            c.sendall(b"hello")
            c.recv(10)
    except (ssl.SSLError, OSError):
        pass
    thread.join(10)
    return result[0]


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
    root = authority("root")
    middle = authority("intermediate", root)
    ca_dir = tmp_path / "ca"
    ca_dir.mkdir()
    (ca_dir / "ca.pem").write_bytes(pem(middle[0]))
    (ca_dir / "ca-key.pem").write_bytes(
        middle[1].private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
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
