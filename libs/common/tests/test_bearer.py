"""Bearer JWTs: what the hub signs, and every way a token the registry must refuse is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from wharf_common.bearer import (
    BearerSigner,
    BearerVerifier,
    InsufficientScope,
    InvalidScope,
    ResourceScope,
    key_id,
    load_or_create_signing_key,
    load_verification_keys,
    parse_scope,
    parse_scopes,
    write_certificate,
)
from wharf_common.tokens import InvalidToken

WEB = ResourceScope("repository", "alice/web", ("pull", "push"))


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def signer(key: ec.EllipticCurvePrivateKey) -> BearerSigner:
    return BearerSigner(key, "wharf-hub")


@pytest.fixture
def verifier(key: ec.EllipticCurvePrivateKey) -> BearerVerifier:
    return BearerVerifier([key.public_key()], "wharf-hub", "registry.test")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parts(token: str) -> tuple[dict[str, object], dict[str, object], str]:
    header, claims, signature = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(claims)), signature


def test_a_token_carries_the_spec_claims_and_round_trips(
    signer: BearerSigner, verifier: BearerVerifier
) -> None:
    issued = signer.issue("alice", "registry.test", [WEB], 300)
    header, claims, _ = _parts(issued.token)
    assert header == {"alg": "ES256", "typ": "JWT", "kid": signer.key_id}
    assert set(claims) == {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "access"}
    assert claims["access"] == [{"type": "repository", "name": "alice/web", "actions": ["pull", "push"]}]
    assert claims["exp"] == claims["iat"] + 300  # type: ignore[operator]
    token = verifier.verify(issued.token)
    assert (token.subject, token.audience) == ("alice", "registry.test")
    assert token.allows("repository", "alice/web", "push")
    assert not token.allows("repository", "alice/other", "pull")
    body = issued.response()
    assert body["token"] == body["access_token"] == issued.token and body["expires_in"] == 300
    assert body["issued_at"].endswith("Z")


def test_the_key_id_is_libtrusts_fingerprint(key: ec.EllipticCurvePrivateKey) -> None:
    kid = key_id(key.public_key())
    groups = kid.split(":")
    assert len(groups) == 12 and all(len(g) == 4 for g in groups)
    assert set(kid.replace(":", "")) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def test_a_token_for_repository_a_does_not_cover_b(signer: BearerSigner, verifier: BearerVerifier) -> None:
    token = verifier.verify(signer.issue("alice", "registry.test", [WEB], 300).token)
    with pytest.raises(InsufficientScope):
        token.require(ResourceScope("repository", "bob/web", ("pull",)))
    token.require(ResourceScope("repository", "alice/web", ("pull",)))


def test_a_pull_scope_does_not_cover_push(signer: BearerSigner, verifier: BearerVerifier) -> None:
    pull = ResourceScope("repository", "alice/web", ("pull",))
    token = verifier.verify(signer.issue("alice", "registry.test", [pull], 300).token)
    with pytest.raises(InsufficientScope):
        token.require(ResourceScope("repository", "alice/web", ("push",)))


def test_an_expired_token_is_refused(signer: BearerSigner, verifier: BearerVerifier) -> None:
    issued = signer.issue("alice", "registry.test", [WEB], 60, now=1_000_000)
    verifier.verify(issued.token, now=1_000_030)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(issued.token, now=1_000_060 + verifier.leeway)
    with pytest.raises(InvalidToken, match="not valid yet"):
        verifier.verify(issued.token, now=1_000_000 - verifier.leeway - 1)


def test_a_tampered_token_is_refused(signer: BearerSigner, verifier: BearerVerifier) -> None:
    header, claims, signature = signer.issue("alice", "registry.test", [WEB], 300).token.split(".")
    raw = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    raw["access"][0]["name"] = "bob/web"
    forged = f"{header}.{_b64(json.dumps(raw).encode())}.{signature}"
    with pytest.raises(InvalidToken):
        verifier.verify(forged)
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    with pytest.raises(InvalidToken):
        verifier.verify(f"{header}.{claims}.{flipped}")


def test_a_token_signed_by_another_key_is_refused(verifier: BearerVerifier) -> None:
    other = BearerSigner(ec.generate_private_key(ec.SECP256R1()), "wharf-hub")
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(other.issue("alice", "registry.test", [WEB], 300).token)


def test_another_key_under_our_key_id_is_refused(signer: BearerSigner, verifier: BearerVerifier) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    claims = _parts(signer.issue("alice", "registry.test", [WEB], 300).token)[1]
    token = jwt.encode(claims, other, algorithm="ES256", headers={"kid": signer.key_id})
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_alg_none_and_hmac_with_the_public_key_are_refused(
    signer: BearerSigner, verifier: BearerVerifier
) -> None:
    claims = _parts(signer.issue("alice", "registry.test", [WEB], 300).token)[1]
    header = {"alg": "none", "typ": "JWT", "kid": signer.key_id}
    unsigned = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."
    with pytest.raises(InvalidToken, match="algorithm none"):
        verifier.verify(unsigned)
    pem = signer.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header["alg"] = "HS256"
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"

    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidToken, match="algorithm HS256"):
        verifier.verify(f"{signing_input}.{_b64(mac)}")


def test_a_token_for_another_service_or_issuer_is_refused(
    key: ec.EllipticCurvePrivateKey, signer: BearerSigner, verifier: BearerVerifier
) -> None:
    with pytest.raises(InvalidToken, match="another service"):
        verifier.verify(signer.issue("alice", "other-registry", [WEB], 300).token)
    stranger = BearerSigner(key, "someone-else")
    with pytest.raises(InvalidToken, match="another issuer"):
        verifier.verify(stranger.issue("alice", "registry.test", [WEB], 300).token)


def test_garbage_is_refused(verifier: BearerVerifier) -> None:
    for text in ("", "abc", "a.b.c", "e30.e30.", "x" * 5000):
        with pytest.raises(InvalidToken):
            verifier.verify(text)


def test_a_token_without_access_or_with_bad_access_is_refused(
    key: ec.EllipticCurvePrivateKey, signer: BearerSigner, verifier: BearerVerifier
) -> None:
    claims = _parts(signer.issue("alice", "registry.test", [WEB], 300).token)[1]
    for access in (
        None,
        "all",
        [{"type": "repository"}],
        [{"type": "repository", "name": "a", "actions": [1]}],
    ):
        claims["access"] = access
        token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": signer.key_id})
        with pytest.raises(InvalidToken):
            verifier.verify(token)


def test_scopes_parse_as_docker_writes_them() -> None:
    assert parse_scope("repository:alice/web:pull,push") == WEB
    assert parse_scope("repository:localhost:5000/alice/web:pull").name == "localhost:5000/alice/web"
    assert parse_scope("registry:catalog:*") == ResourceScope("registry", "catalog", ("*",))
    assert parse_scope("repository(plugin):a/b:pull").type == "repository(plugin)"
    assert len(parse_scopes(["repository:a/b:pull repository:c/d:push", "registry:catalog:*"])) == 3
    assert str(WEB) == "repository:alice/web:pull,push"
    for bad in ("", "repository", "repository:a/b", ":a/b:pull", "repository:a/b:pu;ll", "x" * 600):
        with pytest.raises(InvalidScope):
            parse_scope(bad)
    with pytest.raises(InvalidScope):
        parse_scopes(["repository:a/b:pull"] * 17)


def test_the_signing_key_and_certificate_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "bearer-signing.pem"
    key = load_or_create_signing_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert key_id(load_or_create_signing_key(path).public_key()) == key_id(key.public_key())
    cert = tmp_path / "bearer-signing.crt"
    write_certificate(key, cert, "wharf-hub")
    assert cert.stat().st_mode & 0o777 == 0o644
    before = cert.read_bytes()
    write_certificate(key, cert, "wharf-hub")
    assert cert.read_bytes() == before  # kept while it is of this key
    parsed = x509.load_pem_x509_certificate(before)
    assert parsed.subject == parsed.issuer
    [public] = load_verification_keys(cert)
    assert key_id(public) == key_id(key.public_key())
    write_certificate(ec.generate_private_key(ec.SECP256R1()), cert, "other")
    write_certificate(key, cert, "wharf-hub")
    assert key_id(load_verification_keys(cert)[0]) == key_id(key.public_key())  # made again


def test_a_key_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    other = ec.generate_private_key(ec.SECP384R1())
    path.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="P-256"):
        load_or_create_signing_key(path)
