"""``wharf-engine certs`` makes a CA, server and client pair that TLS accepts; listeners refuse plain
TCP beyond loopback; unix sockets belong to the socket group, mode 0660."""

from __future__ import annotations

import datetime
import grp
import os
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from wharf_client import TLSConfig
from wharf_engine import certs
from wharf_engine.main import listen, socket_group
from wharf_engine.settings import Settings


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


def test_certificates_work_together_and_keys_are_private(tmp_path: Path) -> None:
    ca, alice = make_all(tmp_path)
    for key in (ca / "ca-key.pem", ca / "server-key.pem", alice / "key.pem"):
        assert key.stat().st_mode & 0o777 == 0o600
    server_cert = x509.load_pem_x509_certificate((ca / "server-cert.pem").read_bytes())
    sans = server_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", "engine.lan"} <= set(sans.get_values_for_type(x509.DNSName))
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} >= {"127.0.0.1", "::1", "192.0.2.7"}
    assert "engine.lan" in certs.certificate_names(ca / "server-cert.pem")
    server = certs.server_context(ca / "ca.pem", ca / "server-cert.pem", ca / "server-key.pem", verify=True)
    assert server.options & ssl.OP_NO_RENEGOTIATION  # TLS 1.2 clients cannot stall a stream mid-answer
    good = TLSConfig(ca_cert=alice / "ca.pem", client_cert=alice / "cert.pem", client_key=alice / "key.pem")
    assert handshake(server, good.context()) == "hello"
    anonymous = TLSConfig(ca_cert=alice / "ca.pem")
    assert handshake(server, anonymous.context()).startswith("refused")


def test_client_of_another_ca_is_refused(tmp_path: Path) -> None:
    ca, _ = make_all(tmp_path / "one")
    _, mallory = make_all(tmp_path / "two")
    server = certs.server_context(ca / "ca.pem", ca / "server-cert.pem", ca / "server-key.pem", verify=True)
    wrong = TLSConfig(ca_cert=ca / "ca.pem", client_cert=mallory / "cert.pem", client_key=mallory / "key.pem")
    assert handshake(server, wrong.context()).startswith("refused")
    server_only = certs.server_context(None, ca / "server-cert.pem", ca / "server-key.pem", verify=False)
    assert handshake(server_only, TLSConfig(ca_cert=ca / "ca.pem").context()) == "hello"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl names the hashed CA directory")
def test_only_the_given_ca_is_trusted_not_the_systems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, _ = make_all(tmp_path / "one")
    other_ca, mallory = make_all(tmp_path / "two")
    system = tmp_path / "system"  # the "system" trust store, holding the other CA
    system.mkdir()
    hashed = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(other_ca / "ca.pem")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (system / f"{hashed}.0").write_bytes((other_ca / "ca.pem").read_bytes())
    monkeypatch.setenv("SSL_CERT_DIR", str(system))
    server = certs.server_context(ca / "ca.pem", ca / "server-cert.pem", ca / "server-key.pem", verify=True)
    wrong = TLSConfig(ca_cert=ca / "ca.pem", client_cert=mallory / "cert.pem", client_key=mallory / "key.pem")
    assert handshake(server, wrong.context()).startswith("refused")


def test_init_refuses_to_replace_a_ca(tmp_path: Path) -> None:
    certs.main(["--dir", str(tmp_path), "init"])
    with pytest.raises(SystemExit, match="refusing to replace"):
        certs.main(["--dir", str(tmp_path), "init"])


def test_plain_tcp_beyond_loopback_needs_the_insecure_flag() -> None:
    with pytest.raises(SystemExit, match=r"refusing plain TCP on 0\.0\.0\.0"):
        listen("tcp://0.0.0.0:0", Settings())
    for settings in (Settings(insecure_tcp=True), Settings(tlsverify=True), Settings(tls=True)):
        listen("tcp://0.0.0.0:0", settings).close()
    listen("tcp://127.0.0.1:0", Settings()).close()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_unix_socket_belongs_to_the_group_mode_0660(tmp_path: Path) -> None:
    gid = grp.getgrnam("daemon").gr_gid
    assert socket_group("daemon") == gid
    sock = listen(f"unix://{tmp_path}/e.sock", Settings(), gid)
    sock.close()
    st = (tmp_path / "e.sock").stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, gid, 0o660)
    with pytest.raises(SystemExit, match="group 'no-such-group' not found"):
        socket_group("no-such-group")
    expected = grp.getgrnam("wharf").gr_gid if "wharf" in {g.gr_name for g in grp.getgrall()} else 0
    assert socket_group(None) == expected


def _authority(name: str, issuer: tuple[x509.Certificate, Any] | None = None) -> tuple[x509.Certificate, Any]:
    """A CA certificate and key; signed by ``issuer`` (an intermediate) or by itself (a root)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

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


def _pem(*certificates: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def test_server_chain_is_the_leaf_and_its_issuers_from_the_ca_file(tmp_path: Path) -> None:
    ca, _ = make_all(tmp_path)
    chain = certs.server_chain(ca / "server-cert.pem", ca / "ca.pem")
    leaf = (ca / "server-cert.pem").read_bytes()
    assert chain == leaf + (ca / "ca.pem").read_bytes()  # what OpenSSL sent when it built it per handshake
    other, _ = make_all(tmp_path / "other")
    assert certs.server_chain(ca / "server-cert.pem", other / "ca.pem") is None  # no issuer there
    (tmp_path / "bundle.pem").write_bytes(chain)
    assert certs.server_chain(tmp_path / "bundle.pem", ca / "ca.pem") is None  # a chain already: kept as is


def test_server_chain_climbs_intermediates_and_clients_of_the_root_verify_it(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    root = _authority("root")
    middle = _authority("intermediate", root)
    unrelated = _authority("unrelated")
    ca_dir = tmp_path / "ca"
    ca_dir.mkdir()
    (ca_dir / "ca.pem").write_bytes(_pem(middle[0]))
    (ca_dir / "ca-key.pem").write_bytes(
        middle[1].private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    assert isinstance(middle[1], ec.EllipticCurvePrivateKey)
    certs.make_leaf(ca_dir, "engine", server=True, sans=[])
    cafile = tmp_path / "trust.pem"  # the engine's --tlscacert: unrelated, root and intermediate
    cafile.write_bytes(_pem(unrelated[0], root[0], middle[0]))
    chain = certs.server_chain(ca_dir / "server-cert.pem", cafile)
    assert chain == (ca_dir / "server-cert.pem").read_bytes() + _pem(middle[0], root[0])
    server = certs.server_context(cafile, ca_dir / "server-cert.pem", ca_dir / "server-key.pem", verify=False)
    client = ssl.create_default_context(cadata=_pem(root[0]).decode())
    assert handshake(server, client).startswith("refused")  # the leaf alone: the root cannot reach it
    (tmp_path / "alice").mkdir()
    certs.make_leaf(ca_dir, "alice", server=False, sans=[], out=tmp_path / "alice")
    server = certs.server_context(cafile, ca_dir / "server-cert.pem", ca_dir / "server-key.pem", verify=True)
    client.load_cert_chain(tmp_path / "alice" / "cert.pem", tmp_path / "alice" / "key.pem")
    assert handshake(server, client) == "hello"
