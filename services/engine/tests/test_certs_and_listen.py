"""``wharf-engine certs`` makes a CA, server and client pair that TLS accepts; listeners refuse plain
TCP beyond loopback; unix sockets belong to the socket group, mode 0660."""

from __future__ import annotations

import grp
import os
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from wharf_client import TLSConfig
from wharf_engine import certs
from wharf_engine.main import listen, socket_group
from wharf_engine.settings import Settings

from .tlscerts import authority, handshake, intermediate_ca, make_all, pem


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
    from cryptography.hazmat.primitives.asymmetric import ec

    ca_dir = tmp_path / "ca"
    root, middle = intermediate_ca(ca_dir)
    unrelated = authority("unrelated")
    assert isinstance(middle[1], ec.EllipticCurvePrivateKey)
    certs.make_leaf(ca_dir, "engine", server=True, sans=[])
    cafile = tmp_path / "trust.pem"  # the engine's --tlscacert: unrelated, root and intermediate
    cafile.write_bytes(pem(unrelated[0], root[0], middle[0]))
    chain = certs.server_chain(ca_dir / "server-cert.pem", cafile)
    assert chain == (ca_dir / "server-cert.pem").read_bytes() + pem(middle[0], root[0])
    server = certs.server_context(cafile, ca_dir / "server-cert.pem", ca_dir / "server-key.pem", verify=False)
    client = ssl.create_default_context(cadata=pem(root[0]).decode())
    assert handshake(server, client).startswith("refused")  # the leaf alone: the root cannot reach it
    (tmp_path / "alice").mkdir()
    certs.make_leaf(ca_dir, "alice", server=False, sans=[], out=tmp_path / "alice")
    server = certs.server_context(cafile, ca_dir / "server-cert.pem", ca_dir / "server-key.pem", verify=True)
    client.load_cert_chain(tmp_path / "alice" / "cert.pem", tmp_path / "alice" / "key.pem")
    assert handshake(server, client) == "hello"
