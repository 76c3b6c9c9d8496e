"""Unit tests for the pieces below the API: names, ranges, checksums, settings, metrics."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile

import pytest
from pydantic import ValidationError
from wharf_common.registry_v1 import PayloadHasher
from wharf_registry.api.ranges import RangeNotSatisfiable, parse_range
from wharf_registry.checksums import tarsums
from wharf_registry.metrics import Metrics
from wharf_registry.names import InvalidRepositoryName, parse_repository
from wharf_registry.settings import Settings
from wharf_registry.storage import FilesystemStorageSettings, S3StorageSettings
from wharf_registry.testing import make_layer, payload_checksum


def test_repository_names() -> None:
    assert str(parse_repository("ubuntu")) == "library/ubuntu"
    assert str(parse_repository("alice/web.app_1")) == "alice/web.app_1"
    assert parse_repository("library/ubuntu").familiar == "ubuntu"
    for bad in ("", "a/b/c", "../x", "alice/..", "alice/.x", "a--b/x", "-ab/x", "alice/WEB", "x" * 31 + "/y"):
        with pytest.raises(InvalidRepositoryName):
            parse_repository(bad)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 10)),
        ("bytes=90-", (90, 100)),
        ("bytes=-10", (90, 100)),
        ("bytes=95-200", (95, 100)),
        ("bytes=5-1", None),
        ("items=0-1", None),
        ("bytes=0-1,5-6", None),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == expected


def test_parse_range_past_the_end() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=100-", 100)


def test_payload_checksum_is_sha256_of_json_newline_layer() -> None:
    hasher = PayloadHasher(b'{"id":"x"}')
    hasher.update(b"abc")
    hasher.update(b"def")
    assert hasher.checksum == "sha256:" + hashlib.sha256(b'{"id":"x"}\nabcdef').hexdigest()
    assert hasher.checksum == payload_checksum(b'{"id":"x"}', b"abcdef")


def test_tarsum_follows_the_spec_for_one_file() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("etc/motd")
        info.size, info.mode, info.mtime, info.uid, info.gid = 5, 0o644, 1234, 1, 2
        info.uname, info.gname = "u", "g"
        tar.addfile(info, io.BytesIO(b"hello"))
    header = b"nameetc/motdmode420uid1gid2size5mtime1234typeflag0linknameunameugnamegdevmajor0devminor0"
    v0_file = hashlib.sha256(header + b"hello").hexdigest()
    v1_file = hashlib.sha256(header.replace(b"mtime1234", b"") + b"hello").hexdigest()
    extra = b'{"id":"x"}'
    assert tarsums(io.BytesIO(buf.getvalue()), extra) == {
        "tarsum+sha256:" + hashlib.sha256(extra + v0_file.encode()).hexdigest(),
        "tarsum.v1+sha256:" + hashlib.sha256(extra + v1_file.encode()).hexdigest(),
    }


def test_tarsum_ignores_compression_and_order_but_not_content() -> None:
    files = {"a/1": b"one", "b/2": b"two"}
    plain = tarsums(io.BytesIO(make_layer(files, compress=False)), b"")
    assert tarsums(io.BytesIO(make_layer(files)), b"") == plain
    assert tarsums(io.BytesIO(gzip.compress(make_layer(files, compress=False))), b"") == plain
    assert tarsums(io.BytesIO(make_layer({"a/1": b"one", "b/2": b"TWO"})), b"") != plain
    later = tarsums(io.BytesIO(make_layer(files, mtime=5)), b"")
    v1 = {s for s in plain if s.startswith("tarsum.v1")}
    assert v1 <= later and not (plain - v1) <= later  # v1 ignores mtime, v0 does not
    assert tarsums(io.BytesIO(b"not a tar at all"), b"") == set()


def test_settings_choose_storage_driver_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(Settings().storage, FilesystemStorageSettings)
    monkeypatch.setenv("WHARF_REGISTRY_STORAGE__DRIVER", "s3")
    monkeypatch.setenv("WHARF_REGISTRY_STORAGE__BUCKET", "layers")
    monkeypatch.setenv("WHARF_REGISTRY_STORAGE__ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("WHARF_REGISTRY_AUTH__ANONYMOUS_READ", "true")
    settings = Settings()
    assert isinstance(settings.storage, S3StorageSettings)
    assert (settings.storage.bucket, settings.storage.endpoint_url) == ("layers", "http://127.0.0.1:9000")
    assert settings.auth.anonymous_read
    monkeypatch.setenv("WHARF_REGISTRY_STORAGE__DRIVER", "swift")
    with pytest.raises(ValidationError):
        Settings()


def test_metrics_render_prometheus_text() -> None:
    metrics = Metrics()
    metrics.observe("GET", 200, 0, 10)
    metrics.observe("PUT", 400, 5, 20)
    text = metrics.render()
    assert 'wharf_registry_http_requests_total{method="PUT",status="400"} 1' in text
    assert 'wharf_registry_http_errors_total{method="PUT",status="400"} 1' in text
    assert "wharf_registry_http_response_bytes_total 30" in text
    assert text.endswith("\n")
