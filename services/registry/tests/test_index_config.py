"""Index mode's configuration: the env var, the flag, and refusing an unusable hub key at start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from wharf_registry.app import create_app
from wharf_registry.index_access import IndexSettings, InvalidIndexKey
from wharf_registry.main import parse_args
from wharf_registry.settings import Settings


def test_index_public_key_from_env_and_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert Settings().index.public_key is None
    monkeypatch.setenv("WHARF_REGISTRY_INDEX__PUBLIC_KEY", str(tmp_path / "hub.pub.pem"))
    assert Settings().index.public_key == tmp_path / "hub.pub.pem"
    assert parse_args(["--index-public-key", "/k.pem"]).index_public_key == Path("/k.pem")
    assert parse_args([]).index_public_key is None


def _ec_public_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file or directory"),
        (b"not a key\n", "not a PEM Ed25519 public key"),
        (_ec_public_pem(), "not a PEM Ed25519 public key"),
    ],
    ids=["missing", "garbage", "ec-key"],
)
def test_unusable_public_key_fails_create_app(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "hub.pub.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidIndexKey, match=message) as caught:
        create_app(Settings(data_root=tmp_path / "d", index=IndexSettings(public_key=path)))
    assert str(path) in str(caught.value)
    assert "token-signing.pub.pem" in str(caught.value)  # where to find the right one


def test_unusable_public_key_stops_the_server_at_start(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pem"
    path.write_text("not a key\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wharf_registry.main",
            "--port",
            "0",
            "--data-root",
            str(tmp_path / "d"),
            "--index-public-key",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert f"wharf-registry: index public key {path}: not a PEM Ed25519 public key" in done.stderr
