"""daemon/archive.py: ``docker import``, ``save`` and ``load`` (the docker-archive format)."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from typing import Any

import pytest
from wharf_common.errors import InvalidArgument, NotFound
from wharf_engine.daemon.daemon import Daemon

from .fakes_daemon import commit_container, create_container, import_image, layer_tar, new_daemon, run


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        yield d


@pytest.fixture
def other(monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    with new_daemon(monkeypatch) as d:
        yield d


def save(daemon: Daemon, names: list[str]) -> io.BytesIO:
    out = io.BytesIO()
    run(daemon.image_save(names, out))
    out.seek(0)
    return out


def test_import_makes_a_one_layer_image_with_the_changes(daemon: Daemon) -> None:
    image_id = run(
        daemon.image_import(
            layer_tar({"app/run": b"#!/bin/sh\n"}),
            repo="imported",
            tag="v1",
            changes=["ENV MODE=prod", "WORKDIR /app", 'CMD ["/app/run"]'],
            message="from a tarball",
        )
    )
    shown = daemon.image_inspect("imported:v1")
    assert shown["Id"] == image_id and shown["Comment"] == "from a tarball"
    assert shown["Config"]["Cmd"] == ["/app/run"] and shown["Config"]["WorkingDir"] == "/app"
    env = shown["Config"]["Env"] or []
    assert "MODE=prod" in env and any(e.startswith("PATH=") for e in env)
    assert len(shown["RootFS"]["Layers"]) == 1 and shown["Size"] == len(b"#!/bin/sh\n")


def test_import_without_a_repository_is_untagged(daemon: Daemon) -> None:
    image_id = run(import_image(daemon, None))
    assert daemon.image_inspect(image_id)["RepoTags"] == []


@pytest.mark.parametrize(
    ("repo", "changes", "message"),
    [
        ("Bad Name", [], "invalid reference format"),
        ("ok", ["FROM busybox"], "FROM"),
        ("ok", ["NOPE x"], "NOPE"),
    ],
)
def test_import_refuses_a_bad_name_or_change_before_storing_anything(
    daemon: Daemon, repo: str, changes: list[str], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        run(daemon.image_import(layer_tar({"a": b"1"}), repo=repo, tag=None, changes=changes, message=""))
    assert daemon.image_list(all=True, filters={}) == [] and list(daemon.layers.all()) == []


def test_import_of_something_that_is_no_tar_is_refused(daemon: Daemon) -> None:
    with pytest.raises(InvalidArgument):
        run(daemon.image_import(io.BytesIO(b"not a tar" * 100), repo="x", tag=None, changes=[], message=""))
    assert daemon.image_list(all=True, filters={}) == []


@pytest.mark.parametrize("url", ["ftp://example.invalid/x.tar", "file:///etc/passwd", "/etc/passwd"])
def test_import_from_an_unsupported_url_is_refused(daemon: Daemon, url: str) -> None:
    with pytest.raises(InvalidArgument, match="unsupported import source"):
        run(daemon.image_import_url(url, repo="x", tag=None, changes=[], message=""))


def test_save_writes_the_docker_archive_layout(daemon: Daemon) -> None:
    image_id = run(import_image(daemon, "base"))
    with tarfile.open(fileobj=save(daemon, ["base"])) as archive:
        names = archive.getnames()
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        repositories = json.loads(archive.extractfile("repositories").read())  # type: ignore[union-attr]
    [entry] = manifest
    assert entry["Config"] == f"{image_id[7:]}.json" and entry["RepoTags"] == ["base:latest"]
    [layer] = entry["Layers"]
    assert layer in names and entry["Config"] in names
    assert repositories == {"base": {"latest": layer.split("/")[0]}}


def test_save_then_load_into_another_engine_gives_the_same_image(daemon: Daemon, other: Daemon) -> None:
    async def go() -> str:
        await import_image(daemon, "base")
        await create_container(daemon, "maker", {"Image": "base"})
        upper = daemon.container_get("maker").dir / "fs" / "upper"
        upper.mkdir(parents=True)
        (upper / "added").write_text("on top")
        return await commit_container(
            daemon, "maker", repo="app", tag="1.0", comment="", author="", pause=False
        )

    image_id = run(go())
    messages = run(other.image_load(save(daemon, ["app:1.0"]), quiet=False))
    assert [m["status"] for m in messages if "status" in m] == ["Loading layer", "Loading layer"]
    assert messages[-1] == {"stream": "Loaded image: app:1.0\n"}
    loaded = other.image_inspect("app:1.0")
    assert loaded["Id"] == image_id
    assert loaded["RootFS"] == daemon.image_inspect(image_id)["RootFS"]

    again = run(other.image_load(save(daemon, ["app:1.0"]), quiet=False))  # layers held: no progress
    assert again == [{"stream": "Loaded image: app:1.0\n"}]


def test_load_of_an_untagged_image_names_its_id(daemon: Daemon, other: Daemon) -> None:
    image_id = run(import_image(daemon, None))
    assert run(other.image_load(save(daemon, [image_id]))) == [{"stream": f"Loaded image ID: {image_id}\n"}]


def test_save_of_an_unknown_image_fails_before_writing(daemon: Daemon) -> None:
    run(import_image(daemon, "base"))
    out = io.BytesIO()
    with pytest.raises(NotFound, match="No such image: ghost:latest"):
        run(daemon.image_save(["base", "ghost"], out))
    assert out.getvalue() == b""


def archive_of(files: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as out:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def test_load_refuses_an_archive_without_a_manifest(daemon: Daemon) -> None:
    with pytest.raises(InvalidArgument, match=r"no valid manifest\.json"):
        run(daemon.image_load(archive_of({"repositories": b"{}"})))


def test_load_refuses_a_manifest_pointing_outside_the_archive(daemon: Daemon) -> None:
    manifest = [{"Config": "../../etc/passwd", "RepoTags": ["x:1"], "Layers": []}]
    with pytest.raises(InvalidArgument, match="escapes the archive"):
        run(daemon.image_load(archive_of({"manifest.json": json.dumps(manifest).encode()})))


def test_load_refuses_a_layer_that_is_not_the_one_the_config_names(daemon: Daemon, other: Daemon) -> None:
    run(import_image(daemon, "base"))
    saved = save(daemon, ["base"])
    with tarfile.open(fileobj=saved) as archive:
        files = {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}  # type: ignore[union-attr]
    [layer] = [name for name in files if name.endswith("layer.tar")]
    files[layer] = layer_tar({"something": b"else"}).getvalue()
    with pytest.raises(InvalidArgument, match="invalid diffID"):
        run(other.image_load(archive_of(files)))
    assert other.image_list(all=True, filters={}) == []


def test_load_refuses_a_manifest_with_the_wrong_number_of_layers(daemon: Daemon, other: Daemon) -> None:
    image_id = run(import_image(daemon, "base"))
    config = daemon.images.raw(image_id)
    manifest: list[dict[str, Any]] = [{"Config": "c.json", "RepoTags": None, "Layers": []}]
    with pytest.raises(InvalidArgument, match="layers length mismatch"):
        run(other.image_load(archive_of({"manifest.json": json.dumps(manifest).encode(), "c.json": config})))
