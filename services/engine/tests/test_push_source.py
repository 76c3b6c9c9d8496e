"""A layer the engine keeps gzipped as it came (pulled, or loaded from a compressed archive) is pushed
as those very bytes, not compressed again; a layer kept as a plain tar is compressed. Real stores in
a temporary root; the registry is faked with httpx.MockTransport."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
from pathlib import Path

import pytest
from wharf_engine.daemon import push_v2

from .v2fakes import FakeDaemon, Registry, run_push, tar


@pytest.mark.parametrize("big", [False, True])
def test_a_gzipped_layer_goes_out_as_it_came_a_plain_one_is_compressed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, big: bool
) -> None:
    if big:
        monkeypatch.setattr(push_v2, "WHOLE_UP_TO", 0)  # the streamed PATCH, not the held PUT
    kept = gzip.compress(tar({"pulled.bin": os.urandom(3 << 20)}), compresslevel=1, mtime=0)
    plain = tar({"built.bin": b"text " * 200_000})
    registry = Registry()
    daemon = FakeDaemon(tmp_path, registry, [kept, plain])
    assert daemon.layers.gzip_source(daemon.diff_ids[0]) is not None
    assert daemon.layers.gzip_source(daemon.diff_ids[1]) is None
    messages = asyncio.run(run_push(daemon))
    layers = json.loads(registry.manifest)["layers"]
    assert layers[0]["digest"] == "sha256:" + hashlib.sha256(kept).hexdigest()  # the very bytes
    assert registry.blobs[layers[0]["digest"]] == kept and layers[0]["size"] == len(kept)
    sent_plain = registry.blobs[layers[1]["digest"]]
    assert sent_plain != plain and gzip.decompress(sent_plain) == plain  # compressed here
    assert [m["status"] for m in messages if m.get("status") == "Pushed"] == ["Pushed"] * 2
