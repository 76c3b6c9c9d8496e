"""Image import (with changes), save/load round trips, rmi rules, and hostile tarballs."""

from __future__ import annotations

import io
import json
import tarfile
import urllib.parse
from pathlib import Path

import pytest
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root]


def tar_of(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def symlink_member(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info, None


def import_tar(engine: Engine, data: bytes, repo: str, changes: list[str] = ()) -> tuple[int, bytes]:  # type: ignore[assignment]
    query = urllib.parse.urlencode([("fromSrc", "-"), ("repo", repo)] + [("changes", c) for c in changes])
    return engine.request("POST", f"/images/create?{query}", data, {"Content-Type": "application/x-tar"})


def test_import_applies_changes_and_runs(engine: Engine, busybox_tar: Path) -> None:
    status, body = import_tar(
        engine,
        busybox_tar.read_bytes(),
        "imported:v2",
        ['CMD ["sh", "-c", "echo $GREETING from $(pwd)"]', "ENV GREETING=hey", "WORKDIR /srv"],
    )
    assert status == 200, body
    image_id = json.loads(body)["status"]
    config = engine.json("GET", "/images/imported:v2/json")
    assert config["Id"] == image_id
    assert config["Config"]["WorkingDir"] == "/srv"
    assert "GREETING=hey" in config["Config"]["Env"]
    cid = engine.json("POST", "/containers/create", {"Image": "imported:v2"})["Id"]
    engine.request("POST", f"/containers/{cid}/start")
    assert engine.json("POST", f"/containers/{cid}/wait")["StatusCode"] == 0
    _, logs = engine.request("GET", f"/containers/{cid}/logs?stdout=1")
    assert logs[8:] == b"hey from /srv\n"
    engine.request("DELETE", f"/containers/{cid}")
    assert engine.request("DELETE", "/images/imported:v2")[0] == 200


def test_bad_change_is_refused_before_reading(engine: Engine) -> None:
    status, body = import_tar(engine, tar_of(file_member("a", b"x")), "bad:change", ["RUN rm -rf /"])
    assert status == 400 and b"not a valid change command" in body
    assert engine.request("GET", "/images/bad:change/json")[0] == 404


@pytest.mark.parametrize(
    "members",
    [
        [file_member("../escape", b"owned")],
        [file_member("ok/../../escape", b"owned")],
        [symlink_member("link", "/"), file_member("link/tmp/escape", b"owned")],
        [symlink_member("up", "../../../../"), file_member("up/escape", b"owned")],
    ],
    ids=["dotdot", "nested-dotdot", "absolute-symlink", "relative-symlink"],
)
def test_escaping_tarball_is_rejected_and_nothing_written(engine: Engine, members: list) -> None:  # type: ignore[type-arg]
    images_before = engine.json("GET", "/images/json")
    status, body = import_tar(engine, tar_of(*members), "evil:1")
    assert status == 400, body
    assert engine.request("GET", "/images/evil:1/json")[0] == 404
    assert engine.json("GET", "/images/json") == images_before
    assert not Path("/escape").exists() and not Path("/tmp/escape").exists()
    assert not (engine.root / "escape").exists() and not (engine.root / "data" / "escape").exists()
    assert list((engine.root / "data" / "tmp").iterdir()) == []


def test_truncated_tarball_is_rejected(engine: Engine) -> None:
    data = tar_of(file_member("big", b"y" * 100_000))[:50_000]
    status, body = import_tar(engine, data, "cut:1")
    assert status == 400, body
    assert engine.request("GET", "/images/cut:1/json")[0] == 404


def test_save_and_load_round_trip(engine: Engine) -> None:
    engine.request("POST", "/images/busybox/tag?repo=roundtrip&tag=x")
    original = engine.json("GET", "/images/roundtrip:x/json")["Id"]
    status, archive = engine.request("GET", "/images/get?names=roundtrip:x")
    assert status == 200
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest[0]["RepoTags"] == ["roundtrip:x"]
    assert manifest[0]["Config"] == original[7:] + ".json"
    assert engine.request("DELETE", "/images/roundtrip:x")[0] == 200
    status, body = engine.request("POST", "/images/load", archive, {"Content-Type": "application/x-tar"})
    assert status == 200
    assert b"Loaded image: roundtrip:x" in body
    assert engine.json("GET", "/images/roundtrip:x/json")["Id"] == original
    engine.request("DELETE", "/images/roundtrip:x")


def test_load_of_garbage_is_an_error_line(engine: Engine) -> None:
    """As Docker: the load stream is a 200 whose JSON line carries the error."""
    status, body = engine.request("POST", "/images/load", b"this is not a tar" * 100)
    assert status == 200 and json.loads(body)["error"]
    status, body = engine.request("POST", "/images/load", tar_of(file_member("x", b"1")))
    assert status == 200 and b"manifest.json" in json.loads(body)["errorDetail"]["message"].encode()


def test_rmi_rules_with_containers(engine: Engine) -> None:
    engine.request("POST", "/images/busybox/tag?repo=inuse")
    image_id = engine.json("GET", "/images/inuse/json")["Id"]
    cid = engine.json("POST", "/containers/create", {"Image": "inuse", "Cmd": ["sleep", "30"]})["Id"]
    engine.request("POST", f"/containers/{cid}/start")
    status, body = engine.request("DELETE", f"/images/{image_id[7:19]}")
    assert status == 409 and b"running container" in body
    # untagging one of several tags is fine even while it runs
    assert engine.json("DELETE", "/images/inuse") == [{"Untagged": "inuse:latest"}]
    assert engine.json("GET", "/images/busybox/json")["Id"] == image_id
    engine.request("DELETE", f"/containers/{cid}?force=1")


@needs_docker
def test_docker_save_load_and_import_cli(engine: Engine, tmp_path: Path, busybox_tar: Path) -> None:
    archive = tmp_path / "bb.tar"
    assert engine.docker("save", "-o", str(archive), "busybox").returncode == 0
    assert engine.docker("tag", "busybox", "cli-copy").returncode == 0
    assert engine.docker("rmi", "cli-copy").returncode == 0
    result = engine.docker("load", "-i", str(archive))
    assert result.returncode == 0 and b"busybox:latest" in result.stdout
    result = engine.docker("import", "--change", 'CMD ["sh"]', str(busybox_tar), "cli-import:1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip().startswith("sha256:")
    run = engine.docker("run", "--rm", "cli-import:1", "echo", "imported")
    assert run.stdout == b"imported\n"
    engine.docker("rmi", "cli-import:1")


def test_saved_layers_hash_to_their_diff_ids(engine: Engine) -> None:
    """What `save` hands out is byte for byte what the config names, so any loader can verify it."""
    import hashlib

    status, archive = engine.request("GET", "/images/get?names=busybox")
    assert status == 200
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(tar.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
        digests = [
            "sha256:" + hashlib.sha256(tar.extractfile(name).read()).hexdigest()  # type: ignore[union-attr]
            for name in manifest[0]["Layers"]
        ]
    assert digests == config["rootfs"]["diff_ids"]


@needs_docker
def test_docker_images_by_name_shows_only_that_names_tags(engine: Engine) -> None:
    """`docker images refa` lists the image with its refa tags only, as Docker does."""
    for tag in ("refa:1", "refa:2", "refb:1"):
        assert engine.docker("tag", "busybox", tag).returncode == 0
    try:
        shown = engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}", "refa").stdout.decode()
        assert sorted(shown.split()) == ["refa:1", "refa:2"]
        listed = engine.json(
            "GET", "/images/json?" + urllib.parse.urlencode({"filters": '{"reference":["refb"]}'})
        )
        assert [i["RepoTags"] for i in listed] == [["refb:1"]]
    finally:
        engine.docker("rmi", "refa:1", "refa:2", "refb:1")
