"""``wharf-registry gc`` beside a running registry: push two tags over HTTP, drop one, collect.

The pushes are made by hand (as in ``test_registry_v1.py``); ``gc --dry-run`` lists the
orphan and removes nothing, ``gc --grace 0`` removes it and the other tag still pulls.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_registry_v1 import push_image
from wharf_registry.testing import RegistryProcess, make_layer, random_image_id

WHARF_REGISTRY = Path(sys.executable).parent / "wharf-registry"


@pytest.fixture
def registry() -> Iterator[RegistryProcess]:
    reg = RegistryProcess()
    try:
        reg.start()
        yield reg
        assert reg.stop() == 0, reg.log.read_text()[-2000:]
    finally:
        reg.cleanup()


def gc(registry: RegistryProcess, *args: str) -> list[str]:
    result = subprocess.run(
        [str(WHARF_REGISTRY), "gc", "--data-root", str(registry.data), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_gc_removes_only_the_untagged_image(registry: RegistryProcess) -> None:
    base, kept, orphan = random_image_id(), random_image_id(), random_image_id()
    layers = {
        base: make_layer({"bin/sh": b"#!/bin/sh\n"}),
        kept: make_layer({"etc/motd": b"kept\n"}),
        orphan: make_layer({"etc/motd": b"orphan\n" * 1000}),
    }
    with httpx.Client(base_url=registry.url, timeout=30) as http:
        for image_id, parent in ((base, None), (kept, base), (orphan, base)):
            push_image(http, image_id, layers[image_id], parent)
        assert http.put("/v1/repositories/alice/web/tags/v1", json=kept).status_code == 200
        assert http.put("/v1/repositories/alice/web/tags/v2", json=orphan).status_code == 200
        assert http.delete("/v1/repositories/alice/web/tags/v2").status_code == 200
        before = registry.files("images")

        out = gc(registry, "--dry-run")  # the default grace keeps everything just pushed
        assert out[-1].startswith("total: 0 images") and "1 unreachable images younger than grace" in out[-1]
        out = gc(registry, "--dry-run", "--grace", "0")
        assert len(out) == 2, out
        assert out[0].startswith(f"would remove image {orphan}: ")
        assert out[1].startswith("total: 1 images") and "would be reclaimed" in out[1]
        assert registry.files("images") == before  # nothing removed

        out = gc(registry, "--grace", "0")
        assert out[0].startswith(f"removed image {orphan}: ") and out[1].endswith("younger than grace kept")
        size = int(out[0].rsplit(", ", 1)[1].split()[0])
        assert size >= len(layers[orphan])
        assert not any(f.startswith(f"images/{orphan}/") for f in registry.files("images"))
        assert http.get(f"/v1/images/{orphan}/json").status_code == 404

        # the other tag still pulls, whole
        assert http.get("/v1/repositories/alice/web/tags").json() == {"v1": kept}
        assert http.get(f"/v1/images/{kept}/ancestry").json() == [kept, base]
        for image_id in (kept, base):
            assert http.get(f"/v1/images/{image_id}/json").status_code == 200
            assert http.get(f"/v1/images/{image_id}/layer").content == layers[image_id]
        assert gc(registry, "--grace", "0")[0].startswith("total: 0 images")  # nothing left to do
