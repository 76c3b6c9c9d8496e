"""The client's own ``quote`` escapes exactly as ``urllib.parse.quote`` (which it avoids importing)."""

from __future__ import annotations

import random
from urllib.parse import quote as reference

import pytest
from wharf_client._base import encode_query, path_segment, quote

SAMPLES = ["", "busybox", "a b/c:d@e", "é€𝄞", "%/?#[]!$&'()*+,;=~_.-", "localhost:5000/ns/web:v1@sha256:ab"]


@pytest.mark.parametrize("safe", ["", "/", "/:@"])
def test_quote_matches_urllib(safe: str) -> None:
    rng = random.Random(7)
    texts = SAMPLES + ["".join(chr(rng.randint(0, 0x2FFF)) for _ in range(12)) for _ in range(500)]
    for text in texts:
        assert quote(text, safe) == reference(text, safe), text


def test_paths_and_queries_escape_as_docker_sends_them() -> None:
    assert path_segment("localhost:5000/web:v1") == "localhost:5000/web:v1"
    assert path_segment("a b") == "a%20b"
    assert encode_query({"filters": '{"name":["x"]}', "all": True, "n": None}) == (
        "?filters=%7B%22name%22%3A%5B%22x%22%5D%7D&all=1"
    )
