"""TLS to the engine (``--tlsverify``, ``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``): docker CLI rules.

Imported by every command: ``ssl`` is imported only when a TLS connection is made (``_tlsconn``), and
``pathlib`` only when TLS is asked for; :class:`TLSConfig` is a ``NamedTuple`` (see ``_hosts``).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping
    from pathlib import Path
    from typing import NamedTuple
else:
    from .lean import NamedTuple

CA_FILE, CERT_FILE, KEY_FILE = "ca.pem", "cert.pem", "key.pem"


class TLSConfig(NamedTuple):
    """Like the docker CLI's: ``verify`` checks the engine's certificate against ``ca_cert``."""

    verify: bool = True
    ca_cert: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None

    def context(self) -> ssl.SSLContext:
        import ssl

        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=self.ca_cert if self.verify else None
        )
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.client_cert is not None:
            context.load_cert_chain(self.client_cert, self.client_key)
        return context


def default_cert_path(environ: Mapping[str, str], home: Path | None = None) -> Path:
    """``DOCKER_CERT_PATH``, else ``~/.wharf`` if it holds certificates, else ``~/.docker``."""
    from pathlib import Path

    if environ.get("DOCKER_CERT_PATH"):
        return Path(environ["DOCKER_CERT_PATH"])
    home = home if home is not None else Path.home()
    wharf = home / ".wharf"
    return wharf if (wharf / CA_FILE).exists() or (wharf / CERT_FILE).exists() else home / ".docker"


def tls_config(
    *,
    tls: bool = False,
    verify: bool | None = None,
    ca_cert: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> TLSConfig | None:
    """The docker CLI's rules: ``--tlsverify`` or ``DOCKER_TLS_VERIFY`` means TLS with verification,
    ``--tls`` TLS without; files default to the cert path, a missing default client pair is skipped."""
    env = os.environ if environ is None else environ
    if verify is None:
        verify = bool(env.get("DOCKER_TLS_VERIFY"))
    if not (tls or verify or env.get("DOCKER_TLS")):
        return None
    from pathlib import Path

    base = default_cert_path(env)
    client_cert: Path | None = Path(cert) if cert else base / CERT_FILE
    client_key: Path | None = Path(key) if key else base / KEY_FILE
    if not cert and not (base / CERT_FILE).exists():
        client_cert = client_key = None
    return TLSConfig(
        verify=verify,
        ca_cert=Path(ca_cert) if ca_cert else base / CA_FILE,
        client_cert=client_cert,
        client_key=client_key,
    )
