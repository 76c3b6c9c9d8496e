"""``send_loaded_chain_only``: with it, a server whose file holds its leaf alone sends the leaf alone,
where OpenSSL would otherwise add the chain it builds from the trust store (self-signed root included),
and client certificates are still checked against that store."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from wharf_common._tlschain import send_loaded_chain_only

Pair = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def issue(name: str, issuer: Pair | None, *, ca: bool) -> Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer, signer_key = issuer if issuer else (None, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer.subject if signer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names = x509.SubjectAlternativeName([x509.DNSName("localhost")])
        builder = builder.add_extension(names, critical=False)
    return builder.sign(signer_key, hashes.SHA256()), key


def write(directory: Path, name: str, *pairs: Pair) -> Path:
    path = directory / name
    path.write_bytes(b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert, _ in pairs))
    return path


def write_key(directory: Path, pair: Pair) -> Path:
    path = directory / "key.pem"
    path.write_bytes(
        pair[1].private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def certificates_in(message: bytes) -> int:
    """How many certificates a TLS 1.3 Certificate message holds (its 4-byte header included)."""
    position = 5 + message[4]  # past the header and the certificate_request_context
    end = position + 3 + int.from_bytes(message[position : position + 3], "big")
    position += 3
    count = 0
    while position < end:
        position += 3 + int.from_bytes(message[position : position + 3], "big")  # the certificate
        position += 2 + int.from_bytes(message[position : position + 2], "big")  # its extensions
        count += 1
    return count


def handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> tuple[str, int]:
    """One connection over a socket pair: (what the server got, or "refused: ...", certificates it sent)."""
    sent: list[int] = []

    def seen(_conn: object, direction: str, _v: object, _ct: object, kind: object, data: bytes) -> None:
        if direction == "read" and kind == ssl._TLSMessageType.CERTIFICATE:  # type: ignore[attr-defined]
            sent.append(certificates_in(data))

    client._msg_callback = seen  # type: ignore[attr-defined]
    ours, theirs = socket.socketpair()
    ours.settimeout(10)
    theirs.settimeout(10)
    got: list[str] = []

    def serve() -> None:
        try:
            with server.wrap_socket(ours, server_side=True) as tls:
                got.append(tls.recv(100).decode())
        except (ssl.SSLError, OSError) as exc:
            got.append(f"refused: {exc}")

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client.wrap_socket(theirs, server_hostname="localhost") as tls:
            tls.sendall(b"hello")
            tls.recv(1)  # the server's close (or its alert)
    except (ssl.SSLError, OSError):
        pass
    thread.join(10)
    return got[0], sent[0] if sent else 0


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    root = issue("root", None, ca=True)
    middle = issue("intermediate", root, ca=True)
    leaf = issue("server", root, ca=False)
    deep_leaf = issue("server", middle, ca=False)
    alice = issue("alice", root, ca=False)
    return {
        "root": write(tmp_path, "root.pem", root),
        "trust": write(tmp_path, "trust.pem", root, middle),
        "leaf": write(tmp_path, "leaf.pem", leaf),
        "deep": write(tmp_path, "deep.pem", deep_leaf, middle),  # leaf and intermediate, as loaded
        "key": write_key(tmp_path, leaf),
        "deep_key": _key_file(tmp_path, "deep", deep_leaf),
        "alice": write(tmp_path, "alice.pem", alice),
        "alice_key": _key_file(tmp_path, "alice", alice),
    }


def _key_file(directory: Path, name: str, pair: Pair) -> Path:
    sub = directory / name
    sub.mkdir()
    return write_key(sub, pair)


def server_context(pki: dict[str, Path], *, exact: bool, deep: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if exact:
        assert send_loaded_chain_only(context)  # CPython with OpenSSL: the mode can be set here
    context.load_cert_chain(pki["deep" if deep else "leaf"], pki["deep_key" if deep else "key"])
    context.load_verify_locations(pki["trust"])
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(pki: dict[str, Path], *, certificate: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=pki["root"])
    if certificate:
        context.load_cert_chain(pki["alice"], pki["alice_key"])
    return context


def test_the_leaf_alone_goes_out_and_clients_still_verify_it(pki: dict[str, Path]) -> None:
    assert handshake(server_context(pki, exact=False), client_context(pki)) == ("hello", 2)  # root added
    assert handshake(server_context(pki, exact=True), client_context(pki)) == ("hello", 1)


def test_intermediates_loaded_still_go_out(pki: dict[str, Path]) -> None:
    assert handshake(server_context(pki, exact=True, deep=True), client_context(pki)) == ("hello", 2)


def test_client_certificates_are_still_required(pki: dict[str, Path]) -> None:
    got, _ = handshake(server_context(pki, exact=True), client_context(pki, certificate=False))
    assert got.startswith("refused") and "certificate" in got.lower()


def test_the_context_keeps_its_other_settings(pki: dict[str, Path]) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.options |= ssl.OP_NO_RENEGOTIATION
    before = (context.options, context.verify_mode, context.security_level)
    assert send_loaded_chain_only(context)
    assert send_loaded_chain_only(context)  # setting it twice is harmless
    assert (context.options, context.verify_mode, context.security_level) == before


def test_what_is_not_an_ssl_context_is_left_alone() -> None:
    assert not send_loaded_chain_only("not a context")  # type: ignore[arg-type]
