"""Certificates for the engine's TLS tests: a CA with a server and a client (``wharf-engine-certs``),
CA chains made with ``cryptography``, and a handshake over a socketpair."""

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
    certs.main(["--dir", str(base / "ca"), "server", "--san", "DNS:engine.lan", "--san", "IP:192.0.2.7"])
    certs.main(["--dir", str(base / "ca"), "client", "alice", "--out", str(base / "alice")])
    return base / "ca", base / "alice"


def handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> str:
    """Handshake over a socketpair and exchange a line; return it, or the server's error."""
    a, b = socket.socketpair()
    result: list[str] = []

    def serve() -> None:
        try:
            with server.wrap_socket(a, server_side=True) as s:
                result.append(s.recv(100).decode())
                s.sendall(b"ok")
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


def authority(name: str, issuer: tuple[x509.Certificate, Any] | None = None) -> tuple[x509.Certificate, Any]:
    """A CA certificate and key; signed by ``issuer`` (an intermediate) or by itself (a root)."""
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


def intermediate_ca(directory: Path) -> tuple[tuple[x509.Certificate, Any], tuple[x509.Certificate, Any]]:
    """A root and an intermediate it signed; the intermediate and its key written as the cert
    tool's CA (``ca.pem``, ``ca-key.pem``) in ``directory``, which is made. (root, intermediate)."""
    root = authority("root")
    middle = authority("intermediate", root)
    directory.mkdir()
    (directory / "ca.pem").write_bytes(pem(middle[0]))
    (directory / "ca-key.pem").write_bytes(
        middle[1].private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return root, middle
