"""The v1 protocol pieces the engine's client, the hub's reader and the registry share."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import httpx
import pytest
from wharf_common import registry_v1 as v1
from wharf_common.errors import InvalidArgument
from wharf_common.uploads import TruncatedUpload

IMAGE_ID = "a" * 64


@dataclass
class Answer:
    status_code: int
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def test_paths_name_the_v1_resources() -> None:
    assert v1.repository_path("alice/web") == "/v1/repositories/alice/web/"
    assert v1.repository_images_path("alice/web") == "/v1/repositories/alice/web/images"
    assert v1.tags_path("alice/web") == "/v1/repositories/alice/web/tags"
    assert v1.tag_path("alice/web", "v1") == "/v1/repositories/alice/web/tags/v1"
    assert v1.image_path(IMAGE_ID, "layer") == f"/v1/images/{IMAGE_ID}/layer"


def test_payload_checksum_is_sha256_of_json_newline_body_streamed_or_not() -> None:
    raw, layer = b'{"id":"x"}', b"layer bytes" * 1000
    expected = "sha256:" + hashlib.sha256(raw + b"\n" + layer).hexdigest()
    assert v1.payload_checksum(raw, layer) == expected
    hasher = v1.PayloadHasher(raw)
    for i in range(0, len(layer), 777):
        hasher.update(memoryview(layer)[i : i + 777])
    assert hasher.checksum == expected


def test_image_json_reads_body_size_and_checksum() -> None:
    raw = json.dumps({"id": IMAGE_ID}).encode()
    headers = {"X-Docker-Size": "1234", "X-Docker-Checksum-Payload": "sha256:" + "b" * 64}
    image = v1.read_image_json(httpx.Response(200, content=raw, headers=headers))  # httpx's fits
    assert image == v1.ImageJson(raw, {"id": IMAGE_ID}, 1234, "sha256:" + "b" * 64)


@pytest.mark.parametrize("status", [400, 404])
def test_an_image_not_there_or_being_uploaded_is_none(status: int) -> None:
    assert v1.read_image_json(Answer(status, b'{"error": "Image not found"}')) is None


def test_an_image_json_without_size_has_none() -> None:
    image = v1.read_image_json(Answer(200, b"{}", {"X-Docker-Size": "lots"}))
    assert image is not None and image.size is None and image.checksum is None


@pytest.mark.parametrize(
    "answer",
    [Answer(500, b"oops"), Answer(200, b"not json"), Answer(200, b'{"a": 1}')],
    ids=["server-error", "not-json", "not-a-list"],
)
def test_a_bad_ancestry_is_refused(answer: Answer) -> None:
    with pytest.raises(v1.UnexpectedAnswer):
        v1.read_ancestry(answer)


def test_ancestry_is_the_list_of_ids_or_none_when_unknown() -> None:
    assert v1.read_ancestry(Answer(200, json.dumps([IMAGE_ID, "b" * 64]).encode())) == [IMAGE_ID, "b" * 64]
    assert v1.read_ancestry(Answer(404)) is None


def test_tags_of_a_repository_and_of_none() -> None:
    assert v1.read_tags(Answer(200, json.dumps({"latest": IMAGE_ID}).encode())) == {"latest": IMAGE_ID}
    assert v1.read_tags(Answer(404)) == {}
    with pytest.raises(v1.UnexpectedAnswer):
        v1.read_tags(Answer(200, b'["latest"]'))


def test_one_tag_is_an_image_id() -> None:
    assert v1.read_tag(Answer(200, json.dumps(IMAGE_ID).encode())) == IMAGE_ID
    assert v1.read_tag(Answer(404)) is None
    with pytest.raises(v1.UnexpectedAnswer):
        v1.read_tag(Answer(200, b"{}"))


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"error": "Image already exists"}', "Image already exists"),
        (b'"Account is not Active"', "Account is not Active"),
        (b"<html>bad gateway</html>", "<html>bad gateway</html>"),
        (b"", "Bad Gateway"),
    ],
)
def test_error_detail_reads_every_shape_of_error_body(body: bytes, detail: str) -> None:
    assert v1.error_detail(Answer(502, body), "Bad Gateway") == detail


def test_a_truncated_upload_is_a_bad_request_in_go_words() -> None:
    error = TruncatedUpload()
    assert isinstance(error, InvalidArgument) and error.status == 400
    assert str(error) == "unexpected EOF: the upload ended before it was complete"
