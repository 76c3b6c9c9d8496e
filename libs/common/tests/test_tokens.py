"""Tests for wharf_common.tokens: hub-signed repository tokens, checked with the public key."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from wharf_common.errors import Forbidden, Unauthorized
from wharf_common.tokens import (
    Access,
    InvalidToken,
    RepositoryToken,
    TokenForbidden,
    TokenSigner,
    TokenVerifier,
    load_or_create_private_key,
    load_public_key,
    public_key_pem,
)

DR_AUTHORIZATION_RE = re.compile(r"(\w+)[:=][\s\"]?([^\",]+)\"?")  # docker-registry toolkit.py


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def signer(key: Ed25519PrivateKey) -> TokenSigner:
    return TokenSigner(key)


@pytest.fixture
def verifier(signer: TokenSigner) -> TokenVerifier:
    return TokenVerifier(signer.public_key)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(key: Ed25519PrivateKey, claims: object, outer: str = "") -> str:
    """A token whose payload is whatever JSON we like, genuinely signed."""
    payload = b64(json.dumps(claims).encode())
    return f"signature={payload}.{b64(key.sign(payload.encode()))}{outer}"


def test_issue_verify_round_trip(signer: TokenSigner, verifier: TokenVerifier) -> None:
    before = int(time.time())
    value = signer.issue("alice/web", "write", "alice", ttl=600)
    token = verifier.verify(value)
    assert (token.repository, token.access, token.user) == ("alice/web", "write", "alice")
    assert before + 600 <= token.expires <= int(time.time()) + 600
    assert value.endswith(',repository="alice/web",access=write')


def test_verify_accepts_the_same_token_repeatedly(signer: TokenSigner, verifier: TokenVerifier) -> None:
    value = signer.issue("library/busybox", "read", "", ttl=60)
    assert [verifier.verify(value) for _ in range(3)] == [verifier.verify(value)] * 3


def test_issue_gives_a_new_token_each_time(signer: TokenSigner) -> None:
    assert signer.issue("alice/web", "read", "", 60) != signer.issue("alice/web", "read", "", 60)


def test_verify_refuses_expired_token(signer: TokenSigner, verifier: TokenVerifier) -> None:
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(signer.issue("alice/web", "read", "alice", ttl=-1))
    value = signer.issue("alice/web", "read", "alice", ttl=60)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(value, now=time.time() + 120)


def test_verify_refuses_forged_signature(signer: TokenSigner, verifier: TokenVerifier) -> None:
    value = signer.issue("alice/web", "write", "alice", ttl=60)
    payload, _, rest = value.removeprefix("signature=").partition(".")
    signature, _, outer = rest.partition(",")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(InvalidToken):
        verifier.verify(f"signature={payload}.{flipped},{outer}")


def test_verify_refuses_token_of_another_key(verifier: TokenVerifier) -> None:
    other = TokenSigner(Ed25519PrivateKey.generate())
    with pytest.raises(InvalidToken):
        verifier.verify(other.issue("alice/web", "write", "alice", ttl=60))


def test_verify_refuses_payload_swapped_between_tokens(signer: TokenSigner, verifier: TokenVerifier) -> None:
    mine = signer.issue("alice/web", "read", "alice", ttl=60)
    theirs = signer.issue("bobby/secret", "write", "bobby", ttl=60)
    my_payload = mine.removeprefix("signature=").partition(".")[0]
    their_signature = theirs.partition(".")[2].partition(",")[0]
    with pytest.raises(InvalidToken):
        verifier.verify(f'signature={my_payload}.{their_signature},repository="alice/web",access=read')


@pytest.mark.parametrize(
    ("field", "old", "new"),
    [
        ("repository", '"alice/web"', '"bobby/web"'),
        ("access", "access=read", "access=write"),
    ],
)
def test_verify_refuses_tampered_outer_fields(
    signer: TokenSigner, verifier: TokenVerifier, field: str, old: str, new: str
) -> None:
    value = signer.issue("alice/web", "read", "alice", ttl=60).replace(old, new)
    with pytest.raises(InvalidToken, match="do not match"):
        verifier.verify(value)


def test_verify_trusts_the_signed_payload_without_outer_fields(
    signer: TokenSigner, verifier: TokenVerifier
) -> None:
    value = signer.issue("alice/web", "delete", "alice", ttl=60).partition(",")[0]
    assert verifier.verify(value).access == "delete"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "signature=",
        "signature=nodot",
        "signature=.",
        "signature=abc.def",
        "signature=!!!.@@@",
        'repository="alice/web",access=read',
        "Basic YWxpY2U6cHc=",
    ],
)
def test_verify_refuses_malformed_strings(verifier: TokenVerifier, value: str) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(value)


@pytest.mark.parametrize(
    "claims",
    [
        ["a", "list"],
        "a string",
        {"r": "alice/web", "a": "read", "u": "alice"},  # no expiry
        {"r": "alice/web", "a": "admin", "u": "alice", "e": 2**40},  # unknown access
        {"r": "alice/web", "a": "read", "u": "alice", "e": "tomorrow"},
        {"r": 7, "a": "read", "u": "alice", "e": 2**40},
        {"r": "alice/web", "a": "read", "u": None, "e": 2**40},
    ],
)
def test_verify_refuses_signed_payload_with_bad_claims(
    key: Ed25519PrivateKey, verifier: TokenVerifier, claims: object
) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(hand_signed(key, claims))


def test_hand_signed_claims_are_accepted_when_well_formed(
    key: Ed25519PrivateKey, verifier: TokenVerifier
) -> None:
    claims = {"r": "alice/web", "a": "read", "u": "alice", "e": 2**40, "n": "x"}
    assert verifier.verify(hand_signed(key, claims, ',repository="alice/web"')) == RepositoryToken(
        "alice/web", "read", "alice", 2**40
    )


@pytest.mark.parametrize("prefix", ["", "Token "])
def test_token_survives_docker_registry_regex_split(
    signer: TokenSigner, verifier: TokenVerifier, prefix: str
) -> None:
    value = signer.issue("library/busybox", "write", "alice", ttl=60)
    fields = dict(DR_AUTHORIZATION_RE.findall(prefix + value))
    assert fields["repository"] == "library/busybox"
    assert fields["access"] == "write"
    signature = value.removeprefix("signature=").partition(",")[0]
    assert fields["signature"] == signature
    assert not set(signature) & set(',"=')
    rebuilt = ",".join(f"{k}={v}" for k, v in fields.items())  # what a DR-style proxy passes on
    assert verifier.verify(rebuilt).repository == "library/busybox"


def test_token_errors_are_of_their_kinds() -> None:
    assert issubclass(InvalidToken, Unauthorized)
    assert issubclass(TokenForbidden, Forbidden)
    assert InvalidToken("x").status == 401
    assert TokenForbidden("x").status == 403


@pytest.mark.parametrize(
    ("granted", "asked", "repository", "allowed"),
    [
        ("read", "read", "alice/web", True),
        ("write", "read", "alice/web", True),
        ("write", "write", None, True),
        ("read", "write", "alice/web", False),
        ("write", "delete", "alice/web", False),
        ("delete", "read", "alice/web", False),
        ("delete", "delete", "alice/web", True),
        ("write", "read", "bobby/web", False),
    ],
)
def test_repository_token_allows(
    granted: Access, asked: Access, repository: str | None, allowed: bool
) -> None:
    token = RepositoryToken("alice/web", granted, "alice", 2**40)
    assert token.allows(asked, repository) is allowed


def test_load_or_create_private_key_creates_0600_file_and_reloads_it(tmp_path: Path) -> None:
    path = tmp_path / "hub" / "token-signing.pem"
    created = load_or_create_private_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    reloaded = load_or_create_private_key(path)
    assert public_key_pem(reloaded.public_key()) == public_key_pem(created.public_key())
    signed = TokenSigner(created).issue("alice/web", "read", "alice", ttl=60)
    assert TokenVerifier(reloaded.public_key()).verify(signed).user == "alice"


def test_load_or_create_private_key_refuses_other_key_types(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="not an Ed25519 private key"):
        load_or_create_private_key(path)


def test_load_public_key_round_trip(tmp_path: Path, signer: TokenSigner) -> None:
    path = tmp_path / "token-signing.pub.pem"
    path.write_bytes(public_key_pem(signer.public_key))
    verifier = TokenVerifier(load_public_key(path))
    assert verifier.verify(signer.issue("alice/web", "read", "", ttl=60)).repository == "alice/web"


def test_load_public_key_refuses_other_key_types_and_garbage(tmp_path: Path) -> None:
    ec_pub = tmp_path / "ec.pub.pem"
    ec_pub.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="not an Ed25519 public key"):
        load_public_key(ec_pub)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    with pytest.raises(ValueError):
        load_public_key(garbage)


def test_index_to_confirm_with_is_signed(signer: TokenSigner, verifier: TokenVerifier) -> None:
    plain = verifier.verify(signer.issue("alice/web", "write", "alice", 60))
    assert plain.index is None
    value = signer.issue("alice/web", "write", "alice", 60, index="http://hub.test")
    assert verifier.verify(value).index == "http://hub.test"
    # the claim cannot be dropped or changed: it is inside the signed payload
    payload, _, signature = value.split(",")[0].removeprefix("signature=").partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    del claims["i"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken):
        verifier.verify(f"signature={forged}.{signature}")
