"""Tests for wharf_common.reference: Docker's reference grammar and normalization."""

from __future__ import annotations

import pytest
from wharf_common.errors import InvalidArgument
from wharf_common.reference import (
    DEFAULT_TAG,
    ImageReference,
    InvalidReference,
    is_valid_tag,
    parse_reference,
)

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    "text",
    [
        "busybox",
        "library/busybox",
        "docker.io/busybox",
        "docker.io/library/busybox",
        "index.docker.io/library/busybox",
        "index.docker.io/busybox",
    ],
)
def test_parse_reference_normalizes_official_hub_names(text: str) -> None:
    ref = parse_reference(text)
    assert ref == ImageReference(domain=None, path="busybox")
    assert ref.repository == "busybox"
    assert ref.remote_name == "library/busybox"
    assert ref.full_name == "docker.io/library/busybox"


@pytest.mark.parametrize("text", ["user/web", "docker.io/user/web", "index.docker.io/user/web"])
def test_parse_reference_normalizes_user_hub_names(text: str) -> None:
    ref = parse_reference(text)
    assert ref == ImageReference(domain=None, path="user/web")
    assert ref.remote_name == "user/web"
    assert ref.full_name == "docker.io/user/web"


def test_parse_reference_keeps_nested_library_path() -> None:
    ref = parse_reference("docker.io/library/foo/bar")
    assert ref.path == "library/foo/bar"
    assert ref.remote_name == "library/foo/bar"
    assert str(ref) == "library/foo/bar"


def test_parse_reference_reads_tag_and_digest() -> None:
    ref = parse_reference(f"busybox:1.36@{DIGEST}")
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (None, "busybox", "1.36", DIGEST)
    assert str(ref) == f"busybox:1.36@{DIGEST}"


def test_parse_reference_reads_digest_only() -> None:
    ref = parse_reference(f"localhost:5000/web@{DIGEST}")
    assert ref.tag is None
    assert ref.digest == DIGEST
    assert ref.with_default_tag() is ref


def test_parse_reference_treats_host_port_as_domain() -> None:
    ref = parse_reference("localhost:5000/web")
    assert (ref.domain, ref.path, ref.tag) == ("localhost:5000", "web", None)
    assert ref.repository == "localhost:5000/web"
    assert ref.remote_name == "web"
    assert ref.full_name == "localhost:5000/web"


def test_parse_reference_treats_trailing_colon_number_as_tag() -> None:
    ref = parse_reference("web:5000")
    assert (ref.domain, ref.path, ref.tag) == (None, "web", "5000")
    assert str(ref) == "web:5000"


@pytest.mark.parametrize(
    ("text", "domain", "path", "tag"),
    [
        ("localhost/web", "localhost", "web", None),
        ("localhost", None, "localhost", None),
        ("localhost:5000", None, "localhost", "5000"),
        ("registry.example.com/team/app:v1", "registry.example.com", "team/app", "v1"),
        ("Registry.Example.com:443/app", "Registry.Example.com:443", "app", None),
        ("[::1]:5000/app", "[::1]:5000", "app", None),
        ("foo.com", None, "foo.com", None),
        ("a-b__c_d/f--g.h", None, "a-b__c_d/f--g.h", None),
        ("user/web:V1.0-rc_1", None, "user/web", "V1.0-rc_1"),
    ],
)
def test_parse_reference_splits_domain_path_tag(
    text: str, domain: str | None, path: str, tag: str | None
) -> None:
    ref = parse_reference(text)
    assert (ref.domain, ref.path, ref.tag) == (domain, path, tag)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", "busybox"),
        ("busybox:1", "busybox:1"),
        ("docker.io/library/busybox:latest", "busybox:latest"),
        ("localhost:5000/web:v1", "localhost:5000/web:v1"),
        ("index.docker.io/user/web", "user/web"),
    ],
)
def test_str_is_familiar_form(text: str, expected: str) -> None:
    assert str(parse_reference(text)) == expected


def test_with_default_tag_adds_latest_only_when_untagged() -> None:
    assert parse_reference("busybox").with_default_tag() == ImageReference(None, "busybox", DEFAULT_TAG)
    assert str(parse_reference("busybox").with_default_tag()) == "busybox:latest"
    tagged = parse_reference("busybox:1")
    assert tagged.with_default_tag() is tagged


@pytest.mark.parametrize(
    "text",
    [
        "",
        ":",
        "busybox:",
        "busybox@",
        "/busybox",
        "busybox/",
        "user//web",
        "-busybox",
        "busybox-",
        "bus...box",
        "bus box",
        "busybox\n",
        "busybox:-tag",
        "busybox:" + "t" * 129,
        "a_b.c/web",
        "localhost:port/web",
        "http://registry/web",
        "busybox:tag:tag",
        "héllo",
    ],
)
def test_parse_reference_rejects_invalid_format(text: str) -> None:
    with pytest.raises(InvalidReference, match=r"^invalid reference format$"):
        parse_reference(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Busybox", "library/Busybox"),
        ("library/Busybox", "library/Busybox"),
        ("User/web:v1", "User/web"),
        ("localhost:5000/Web", "Web"),
    ],
)
def test_parse_reference_rejects_uppercase_repository(text: str, name: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_reference(text)
    assert str(info.value) == f"invalid reference format: repository name ({name}) must be lowercase"


def test_parse_reference_allows_uppercase_tag() -> None:
    assert parse_reference("busybox:Latest").tag == "Latest"


def test_parse_reference_rejects_hex_identifier() -> None:
    with pytest.raises(InvalidReference, match="cannot specify 64-byte hexadecimal strings"):
        parse_reference("ab" * 32)


def test_parse_reference_rejects_overlong_name() -> None:
    with pytest.raises(InvalidReference, match="must not be more than 255 characters"):
        parse_reference("a/" * 130 + "b")


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ("sha256:" + "ab" * 31, "invalid checksum digest length"),
        ("md5:" + "ab" * 16, "unsupported digest algorithm"),
        ("sha256:" + "AB" * 32, "invalid checksum digest format"),
    ],
)
def test_parse_reference_rejects_bad_digest(digest: str, message: str) -> None:
    with pytest.raises(InvalidReference, match=message):
        parse_reference(f"busybox@{digest}")


def test_invalid_reference_is_invalid_argument() -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_reference("Busybox")
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("domain", "path"),
    [("docker.io", "busybox"), ("index.docker.io", "busybox"), (None, "library/busybox"), (None, "Web")],
)
def test_image_reference_rejects_non_canonical_fields(domain: str | None, path: str) -> None:
    with pytest.raises(InvalidReference):
        ImageReference(domain, path)


def test_image_reference_round_trips_through_str() -> None:
    for text in ["busybox:1", "user/web", "localhost:5000/a/b:c", f"quay.io/x/y@{DIGEST}"]:
        ref = parse_reference(text)
        assert parse_reference(str(ref)) == ref


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        *[("latest", True), ("_x", True), ("1.0-rc.1", True), ("a" * 128, True)],
        *[("", False), ("-x", False), (".x", False), ("a" * 129, False), ("a/b", False), ("a:b", False)],
        *[("ü", False), ("x\n", False)],
    ],
)
def test_is_valid_tag(tag: str, valid: bool) -> None:
    assert is_valid_tag(tag) is valid
