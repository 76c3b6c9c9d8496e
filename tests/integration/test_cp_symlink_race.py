"""``docker cp`` stays inside the container while the container swaps its paths (CVE-2018-15664)."""

from __future__ import annotations

import http.client
import io
import tarfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root, needs_docker]

ROUNDS = 150  # copies each way; the swapper flips /swap thousands of times meanwhile
BUDGET = 40.0  # seconds, for all the rounds together


def ok(result: object) -> str:
    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    return str(result.stdout.decode())  # type: ignore[attr-defined]


def one_file_tar(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def archive(engine: Engine, method: str, cid: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    """One archive call; a stream cut short (the path changed between its stat and its read) is a 404."""
    query = urllib.parse.urlencode({"path": path})
    headers = {"Content-Type": "application/x-tar"} if body is not None else None
    try:
        return engine.request(method, f"/containers/{cid}/archive?{query}", body, headers)
    except http.client.IncompleteRead:
        return 404, b"cut short"


def members(data: bytes) -> dict[str, bytes]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            f = tar.extractfile(member) if member.isfile() else None
            out[member.name] = f.read() if f else member.linkname.encode()
    return out


@pytest.fixture
def host_dir(tmp_path: Path) -> Path:
    """A host directory the container must never reach: its marker is the host's secret."""
    where = tmp_path / "hostside"
    where.mkdir()
    (where / "secret").write_text("HOST-SECRET\n")
    return where


@pytest.fixture
def swapper(engine: Engine, host_dir: Path) -> Iterator[str]:
    """A container flipping /swap between a real directory and a symlink to /, as fast as it can.

    Below both sits ``<host_dir>/secret`` (the same path as on the host): read through the
    directory it says "swapped-dir", through the symlink resolved in the container "container-root";
    only a copy that left the container could read the host's "HOST-SECRET".
    """
    script = (
        f"mkdir -p /real{host_dir} {host_dir} && echo swapped-dir > /real{host_dir}/secret"
        f" && echo container-root > {host_dir}/secret && touch /ready;"
        " while true; do rm -f /swap; mv /real /swap; mv /swap /real; ln -s / /swap; done"
    )
    cid = ok(engine.docker("run", "-d", "busybox", "sh", "-c", script)).strip()
    try:
        deadline = time.monotonic() + 10
        while archive(engine, "HEAD", cid, "/ready")[0] != 200:
            assert time.monotonic() < deadline, "the swapper did not start"
            time.sleep(0.05)
        yield cid
    finally:
        engine.docker("rm", "-f", cid)


def test_get_never_reads_the_host_while_a_dir_becomes_a_link_to_root(
    engine: Engine, swapper: str, host_dir: Path
) -> None:
    seen: set[bytes] = set()
    deadline = time.monotonic() + BUDGET
    for _ in range(ROUNDS):
        if time.monotonic() > deadline:
            break
        status, body = archive(engine, "GET", swapper, f"/swap{host_dir}/secret")
        if status == 200:
            seen.update(members(body).values())
        else:
            assert status == 404, body
    assert b"HOST-SECRET\n" not in seen
    assert seen <= {b"swapped-dir\n", b"container-root\n"} and seen, seen


def test_put_never_writes_the_host_while_a_dir_becomes_a_link_to_root(
    engine: Engine, swapper: str, host_dir: Path
) -> None:
    payload = one_file_tar("pwned", b"from the copy\n")
    landed = 0
    deadline = time.monotonic() + BUDGET
    for _ in range(ROUNDS):
        if time.monotonic() > deadline:
            break
        status, body = archive(engine, "PUT", swapper, f"/swap{host_dir}", payload)
        assert status in (200, 404), body
        landed += status == 200
        assert not (host_dir / "pwned").exists()
    assert landed
    ok(engine.docker("kill", swapper))  # /swap holds still: the copies are in the container
    found = [
        archive(engine, "HEAD", swapper, f"{where}{host_dir}/pwned")[0] for where in ("/real", "/swap", "")
    ]
    assert 200 in found, found


def test_absolute_links_resolve_inside_the_container_both_ways(engine: Engine, host_dir: Path) -> None:
    script = (
        f"ln -s /etc /etclink && ln -s {host_dir} /hostlink && mkdir /data && ln -s / /data/up && sleep 60"
    )
    cid = ok(engine.docker("run", "-d", "busybox", "sh", "-c", script)).strip()
    try:
        deadline = time.monotonic() + 10
        while archive(engine, "HEAD", cid, "/data/up")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        container_passwd = ok(engine.docker("exec", cid, "cat", "/etc/passwd")).encode()
        status, body = archive(engine, "GET", cid, "/etclink/passwd")
        assert status == 200 and members(body) == {"passwd": container_passwd}
        assert container_passwd != Path("/etc/passwd").read_bytes()
        assert archive(engine, "GET", cid, "/hostlink/secret")[0] == 404
        assert archive(engine, "HEAD", cid, "/hostlink/")[0] == 404
        # a link inside a copied directory is archived as a link, never followed
        status, body = archive(engine, "GET", cid, "/data")
        assert status == 200 and members(body) == {"data": b"", "data/up": b"/"}
        # PUT through /etclink lands in the container's /etc; through /hostlink nowhere
        assert archive(engine, "PUT", cid, "/etclink", one_file_tar("marker", b"in\n"))[0] == 200
        assert ok(engine.docker("exec", cid, "cat", "/etc/marker")) == "in\n"
        assert not Path("/etc/marker").exists()
        assert archive(engine, "PUT", cid, "/hostlink", one_file_tar("pwned", b"x"))[0] == 404
        assert archive(engine, "PUT", cid, "/data/up", one_file_tar("top", b"x"))[0] == 200
        assert ok(engine.docker("exec", cid, "cat", "/top")) == "x"
        assert not Path("/top").exists()
        assert sorted(p.name for p in host_dir.iterdir()) == ["secret"]
    finally:
        engine.docker("rm", "-f", cid)


def test_copying_the_whole_root_lists_proc_and_sys_empty(engine: Engine) -> None:
    cid = ok(engine.docker("run", "-d", "busybox", "sleep", "60")).strip()
    try:
        status, body = archive(engine, "GET", cid, "/")
        assert status == 200
        names = {name.removeprefix("./") for name in members(body)}
        assert {"proc", "sys", "etc/passwd", "bin/busybox"} <= names
        assert not [n for n in names if n.startswith(("proc/", "sys/"))]
    finally:
        engine.docker("rm", "-f", cid)
