"""``wharf-engine certs``: the CA, server and client certificates of Docker's "Protect the Docker
daemon socket" chapter, made with ``cryptography`` instead of a page of openssl commands.

    wharf-engine certs init                      # ca.pem, ca-key.pem
    wharf-engine certs server --san DNS:myhost --san IP:10.0.0.5
                                                 # server-cert.pem, server-key.pem
    wharf-engine certs client alice              # cert.pem, key.pem (clientAuth)

Keys are ECDSA P-256 (a TLS handshake signs with the server's key on every connection, and the
docker CLI opens several connections per command: P-256 signs far faster than RSA-2048) and are
written 0600. Certificates are 0644. The server certificate always names localhost, 127.0.0.1 and
::1 and this machine's host name, like the chapter's ``subjectAltName``.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import secrets
import socket
import ssl
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography is large in memory: imported only by the functions that make
    from cryptography import x509  # or read certificates, never by a daemon without TLS
    from cryptography.hazmat.primitives.asymmetric import ec

CA_CERT, CA_KEY = "ca.pem", "ca-key.pem"
SERVER_CERT, SERVER_KEY = "server-cert.pem", "server-key.pem"
CLIENT_CERT, CLIENT_KEY = "cert.pem", "key.pem"
LOOPBACK_SANS = ("DNS:localhost", "IP:127.0.0.1", "IP:::1")


def default_cert_dir(home: Path | None = None) -> Path:
    """``~/.wharf`` when it exists (or neither exists), else ``~/.docker``, as the wharf CLI looks."""
    home = home if home is not None else Path.home()
    wharf, docker = home / ".wharf", home / ".docker"
    return docker if not (wharf / CA_CERT).exists() and (docker / CA_CERT).exists() else wharf


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    path.chmod(mode)  # an existing file keeps its mode through O_CREAT


def _write_pair(
    directory: Path, cert_name: str, key_name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    from ._x509 import serialization

    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(directory / key_name, pem_key, 0o600)
    _write(directory / cert_name, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def parse_san(value: str) -> x509.GeneralName:
    """``DNS:name``, ``IP:addr`` or a bare name or address."""
    from ._x509 import x509

    kind, sep, name = value.partition(":")
    if sep and kind.upper() in ("DNS", "IP"):
        return x509.DNSName(name) if kind.upper() == "DNS" else x509.IPAddress(ipaddress.ip_address(name))
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def _builder(
    subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, days: int
) -> x509.CertificateBuilder:
    from ._x509 import NameOID, x509

    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def make_ca(directory: Path, *, days: int = 365, name: str | None = None) -> None:
    from ._x509 import NameOID, ec, hashes, x509

    name = name or f"wharf CA {secrets.token_hex(4)}"  # unique: two CAs' certificates never mix up
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        _builder(name, subject, key, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    _write_pair(directory, CA_CERT, CA_KEY, cert, key)


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    from ._x509 import ec, serialization, x509

    try:
        cert = x509.load_pem_x509_certificate((directory / CA_CERT).read_bytes())
        key = serialization.load_pem_private_key((directory / CA_KEY).read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise SystemExit(
            f"no CA in {directory}: run `wharf-engine certs init` first ({exc.filename})"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SystemExit(f"{directory / CA_KEY}: expected an ECDSA key, as `certs init` makes")
    return cert, key


def make_leaf(
    directory: Path, name: str, *, server: bool, sans: list[str], days: int = 365, out: Path | None = None
) -> None:
    """A certificate the CA in ``directory`` signs: a server's (serverAuth, ``sans``) or a client's."""
    from ._x509 import ExtendedKeyUsageOID, ec, hashes, x509

    ca_cert, ca_key = _load_ca(directory)
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(name, ca_cert.subject, key, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if server:
        names = list(dict.fromkeys([*LOOPBACK_SANS, f"DNS:{socket.gethostname()}", *sans]))
        builder = builder.add_extension(
            x509.SubjectAlternativeName([parse_san(n) for n in names]), critical=False
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    target = out if out is not None else directory
    if server:
        _write_pair(target, SERVER_CERT, SERVER_KEY, cert, key)
    else:
        _write_pair(target, CLIENT_CERT, CLIENT_KEY, cert, key)
        if out is not None and out != directory:  # a client directory holds the CA too (DOCKER_CERT_PATH)
            _write(out / CA_CERT, (directory / CA_CERT).read_bytes(), 0o644)


def certificate_names(path: Path) -> list[str]:
    """The DNS names a certificate is valid for (the engine accepts them as ``Host``)."""
    from ._x509 import x509

    cert = x509.load_pem_x509_certificate(path.read_bytes())
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in sans.get_values_for_type(x509.DNSName)]


def server_chain(cert: Path, cafile: Path, *, root: bool = True) -> bytes | None:
    """``cert`` followed by its issuers from ``cafile`` up to a self-signed one, as PEM; None when ``cert``
    already holds a chain or ``cafile`` has no issuer for it (or, without ``root``, only the root).

    These are the certificates OpenSSL sends when the server's file holds only its own: it finds the
    issuers in the trust store, on every handshake, at the cost of a chain verification each time
    (a signature check included). Loaded as the server's chain, the same certificates go out as they
    are, and the store serves only to check clients. Without ``root``, the self-signed end is left
    out: what to load once OpenSSL no longer adds a chain of its own (``wharf_common._tlschain``).
    """
    from ._x509 import x509

    try:
        [leaf] = x509.load_pem_x509_certificates(cert.read_bytes())
        authorities = x509.load_pem_x509_certificates(cafile.read_bytes())
    except ValueError:  # several certificates (a chain already) or none: OpenSSL will say which
        return None
    chain = [leaf]
    while chain[-1].issuer != chain[-1].subject and len(chain) < 10:
        issuer = next((ca for ca in authorities if _issued(chain[-1], ca) and ca not in chain), None)
        if issuer is None:
            break
        chain.append(issuer)
    if not root and len(chain) > 1 and chain[-1].issuer == chain[-1].subject:
        chain.pop()
    if len(chain) == 1:
        return None
    from ._x509 import serialization

    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)


def _issued(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    from ._x509 import InvalidSignature

    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _load_pair(context: ssl.SSLContext, cert: Path, key: Path, chain: bytes | None) -> None:
    if chain is None:
        context.load_cert_chain(cert, key)
        return
    fd = os.memfd_create("wharf-engine-chain", os.MFD_CLOEXEC)  # ssl loads chains from paths only
    try:
        os.write(fd, chain)
        context.load_cert_chain(f"/proc/self/fd/{fd}", key)
    finally:
        os.close(fd)


def server_context(
    cacert: Path | None, cert: Path | None, key: Path | None, *, verify: bool
) -> ssl.SSLContext:
    """The TCP listeners' TLS: the server's pair, and with ``verify`` only clients the CA signed."""
    from wharf_common._tlschain import send_loaded_chain_only  # ctypes: only for a TLS daemon

    directory = default_cert_dir()
    cert = cert or directory / SERVER_CERT
    key = key or directory / SERVER_KEY
    cacert = cacert or directory / CA_CERT
    # no system CAs, ever: a client certificate from a public CA must not make its holder root here
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # TLS 1.3 session tickets cost a third of a handshake's CPU (two by default) and no client uses
    # them: the docker CLI keeps no session cache, and every CLI command is a new process anyway
    context.num_tickets = 0
    # a TLS 1.2 client's renegotiation would stall the app's writes mid-stream (wharf_common._tls)
    context.options |= ssl.OP_NO_RENEGOTIATION
    # the leaf and intermediates go out, not the root: every client that checks us has it, and the
    # docker CLI (Go) would check the leaf's signature once more against the copy we sent, on each of
    # the three handshakes of a `docker run`. Where the mode cannot be set, the root goes too, or
    # OpenSSL would build the chain (root included) on every handshake
    exact = send_loaded_chain_only(context)
    try:
        _load_pair(context, cert, key, server_chain(cert, cacert, root=not exact) if verify else None)
        if verify:
            context.load_verify_locations(cacert)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise SystemExit(f"cannot load the engine's TLS files: {exc}") from exc
    return context


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(
        prog="wharf-engine certs", description="Make TLS certificates for the engine."
    )
    p.add_argument("--dir", type=Path, default=None, help="where the CA lives (default ~/.wharf)")
    p.add_argument("--days", type=int, default=365, help="validity (default 365)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="make the CA: ca.pem, ca-key.pem")
    server = sub.add_parser("server", help="make server-cert.pem and server-key.pem")
    server.add_argument("--san", action="append", default=[], help="DNS:name or IP:address (repeatable)")
    server.add_argument("--name", default=socket.gethostname(), help="common name (default: this host)")
    client = sub.add_parser("client", help="make cert.pem and key.pem for a client")
    client.add_argument("name", help="the client's common name")
    client.add_argument("--out", type=Path, help="write cert.pem, key.pem and ca.pem here (e.g. ~/.docker)")
    args = p.parse_args(argv)
    directory = args.dir if args.dir is not None else Path.home() / ".wharf"
    if args.command == "init":
        if (directory / CA_KEY).exists():
            raise SystemExit(f"{directory / CA_KEY} exists: refusing to replace the CA")
        make_ca(directory, days=args.days)
        written = [CA_CERT, CA_KEY]
    elif args.command == "server":
        make_leaf(directory, args.name, server=True, sans=args.san, days=args.days)
        written = [SERVER_CERT, SERVER_KEY]
    else:
        make_leaf(directory, args.name, server=False, sans=[], days=args.days, out=args.out)
        directory = args.out or directory
        written = [CLIENT_CERT, CLIENT_KEY]
    print("\n".join(str(directory / name) for name in written))  # noqa: T201 - the command's output
