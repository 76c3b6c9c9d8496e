"""The ``cryptography`` names :mod:`wharf_engine.certs` uses, imported only when a certificate is
made or read (a daemon without TLS never pays for them)."""

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["ExtendedKeyUsageOID", "InvalidSignature", "NameOID", "ec", "hashes", "serialization", "x509"]
