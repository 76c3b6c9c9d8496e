"""Volumes: binds (dirs, single files, read-only), named and anonymous volumes, --volumes-from."""

from __future__ import annotations

from pathlib import Path

import pytest
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root, needs_docker]


def ok(result: object) -> str:
    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    return str(result.stdout.decode())  # type: ignore[attr-defined]


def test_bind_mount_directory_and_file(engine: Engine, tmp_path: Path) -> None:
    host = tmp_path / "bindthis"
    host.mkdir()
    (host / "in.txt").write_text("from host\n")
    script = "cat /var/www/html/webapp/in.txt; echo made inside > /var/www/html/webapp/new.txt"
    out = ok(
        engine.docker("run", "--rm", "-v", f"{host}:/var/www/html/webapp", "busybox", "sh", "-c", script)
    )
    assert out == "from host\n"
    assert (host / "new.txt").read_text() == "made inside\n"
    single = ok(
        engine.docker("run", "--rm", "-v", f"{host / 'in.txt'}:/etc/motd", "busybox", "cat", "/etc/motd")
    )
    assert single == "from host\n"
    missing = tmp_path / "created" / "by" / "engine"
    ok(engine.docker("run", "--rm", "-v", f"{missing}:/x", "busybox", "true"))
    assert missing.is_dir()


def test_read_only_bind_refuses_writes(engine: Engine, tmp_path: Path) -> None:
    result = engine.docker(
        "run", "--rm", "-v", f"{tmp_path}:/data:ro", "busybox", "sh", "-c", "echo x > /data/y"
    )
    assert result.returncode != 0 and b"Read-only file system" in result.stderr
    assert not (tmp_path / "y").exists()


def test_data_container_and_volumes_from_chain(engine: Engine) -> None:
    ok(
        engine.docker(
            "run", "--name", "datavol", "-v", "/shared", "busybox", "sh", "-c", "echo one > /shared/f"
        )
    )
    ok(
        engine.docker(
            "run",
            "--name",
            "middle",
            "--volumes-from",
            "datavol",
            "busybox",
            "sh",
            "-c",
            "echo two >> /shared/f",
        )
    )
    assert (
        ok(engine.docker("run", "--rm", "--volumes-from", "middle", "busybox", "cat", "/shared/f"))
        == "one\ntwo\n"
    )
    ro = engine.docker(
        "run", "--rm", "--volumes-from", "datavol:ro", "busybox", "sh", "-c", "echo x > /shared/g"
    )
    assert ro.returncode != 0
    volume = engine.json("GET", "/containers/datavol/json")["Mounts"][0]["Name"]
    ok(engine.docker("rm", "-v", "middle"))
    assert engine.request("GET", f"/volumes/{volume}")[0] == 200  # datavol still uses it
    ok(engine.docker("rm", "-v", "datavol"))
    assert engine.request("GET", f"/volumes/{volume}")[0] == 404


def test_named_volume_lifecycle_and_in_use(engine: Engine) -> None:
    assert ok(engine.docker("volume", "create", "named")).strip() == "named"
    ok(engine.docker("run", "--rm", "-v", "named:/n", "busybox", "sh", "-c", "echo kept > /n/x"))
    assert ok(engine.docker("run", "--rm", "-v", "named:/n", "busybox", "cat", "/n/x")) == "kept\n"
    assert "named" in ok(engine.docker("volume", "ls", "-q")).split()
    assert engine.json("GET", "/volumes/named")["Driver"] == "local"
    cid = ok(engine.docker("create", "-v", "named:/n", "busybox", "true")).strip()
    busy = engine.docker("volume", "rm", "named")
    assert busy.returncode != 0 and b"volume is in use" in busy.stderr
    ok(engine.docker("rm", cid))
    ok(engine.docker("volume", "rm", "named"))
    assert engine.request("GET", "/volumes/named")[0] == 404


def test_image_volume_gets_image_content_and_rm_cleans_anonymous(engine: Engine) -> None:
    before = set(ok(engine.docker("volume", "ls", "-q")).split())
    assert "passwd" in ok(engine.docker("run", "--rm", "-v", "/etc", "busybox", "ls", "/etc")).split()
    assert set(ok(engine.docker("volume", "ls", "-q")).split()) == before  # --rm took its anonymous volume


def test_commit_never_captures_volumes(engine: Engine) -> None:
    ok(
        engine.docker(
            "run",
            "--name",
            "volcommit",
            "-v",
            "/data",
            "busybox",
            "sh",
            "-c",
            "echo in-volume > /data/v; echo in-layer > /layer",
        )
    )
    ok(engine.docker("commit", "volcommit", "volcommit:1"))
    out = engine.docker("run", "--rm", "volcommit:1", "sh", "-c", "cat /layer; ls /data/v")
    assert out.stdout == b"in-layer\n" and out.returncode != 0
    ok(engine.docker("rm", "-v", "volcommit"))
    ok(engine.docker("rmi", "volcommit:1"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("rel/path:/x", b"use absolute path"),
        ("/host:relative", b"must be absolute"),
        ("/a:/b:bogus", b"invalid mode"),
    ],
)
def test_bad_volume_specs(engine: Engine, spec: str, message: bytes) -> None:
    before = engine.json("GET", "/containers/json?all=1")
    status, body = engine.request(
        "POST", "/containers/create", {"Image": "busybox", "HostConfig": {"Binds": [spec]}}
    )
    assert status == 400 and message in body
    assert engine.json("GET", "/containers/json?all=1") == before


def test_volumes_from_missing_container_is_400(engine: Engine) -> None:
    body = {"Image": "busybox", "HostConfig": {"VolumesFrom": ["ghost"]}}
    status, text = engine.request("POST", "/containers/create", body)
    assert status == 400 and b"No such container: ghost" in text
