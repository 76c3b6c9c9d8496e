"""``--userns-remap``: a container's root is a subordinate id on the host, not the host's root.

The module's engine remaps to a user the fixture creates (``useradd``) with a subuid and a
subgid range of its own; user, group and both lines are removed afterwards, so the host is
left as it was.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from engines import Engine, make_engine, needs_docker
from seed import seed
from wharf_registry.testing import RegistryProcess

pytestmark = [pytest.mark.root, needs_docker]

SUBUID, SUBGID = Path("/etc/subuid"), Path("/etc/subgid")
SIZE = 65536


@dataclass(frozen=True)
class RemapUser:
    name: str
    start: int


def _taken(path: Path) -> list[tuple[int, int]]:
    out = []
    for line in path.read_text().splitlines() if path.exists() else []:
        parts = line.split(":")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            out.append((int(parts[1]), int(parts[2])))
    return out


def _free_start() -> int:
    taken = _taken(SUBUID) + _taken(SUBGID)
    start = 1_000_000 + secrets.randbelow(1000) * SIZE
    while any(s < start + SIZE and start < s + n for s, n in taken):
        start += SIZE
    return start


def _remove_line(path: Path, line: str) -> None:
    if path.exists():
        path.write_text("".join(x + "\n" for x in path.read_text().splitlines() if x != line))


@pytest.fixture(scope="module")
def remap_user() -> Iterator[RemapUser]:
    if os.geteuid() != 0:
        pytest.skip("creating a user needs root")
    name = "whr" + secrets.token_hex(4)
    subprocess.run(["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/bin/false", name],
                   check=True, capture_output=True)  # fmt: skip
    start = _free_start()
    line = f"{name}:{start}:{SIZE}"
    try:
        for path in (SUBUID, SUBGID):
            with path.open("a") as f:
                f.write(line + "\n")
        yield RemapUser(name, start)
    finally:
        for path in (SUBUID, SUBGID):
            _remove_line(path, line)
        subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["groupdel", name], capture_output=True)


@pytest.fixture(scope="module", params=["idmapped", "chowned"])
def remapped(request: pytest.FixtureRequest, remap_user: RemapUser, busybox_tar: Path) -> Iterator[Engine]:
    """A remapped engine: layers idmapped at mount time, or chowned once at unpack (the fallback)."""
    eng = make_engine()
    eng.root.chmod(0o711)  # the remapped root goes through it to its containers' roots
    eng.extra = ("--userns-remap", remap_user.name)
    try:
        with pytest.MonkeyPatch.context() as env:  # kept for restarts: the mode picks the data root
            env.setenv("WHARF_ENGINE_USERNS_REMAP_IDMAPPED", str(request.param == "idmapped").lower())
            eng.start()
            seed(str(eng.socket), busybox_tar)
            yield eng
    finally:
        eng.cleanup()


def test_layers_on_disk_are_shifted_only_when_chowned(remapped: Engine, remap_user: RemapUser) -> None:
    info = remapped.json("GET", "/info")
    layers = Path(info["DockerRootDir"]) / "layers"
    owners = {p.stat().st_uid for p in layers.glob("*/diff/bin/busybox")}
    if remapped.json("GET", "/info")["DockerRootDir"].endswith(f"/{remap_user.start}.{remap_user.start}"):
        assert owners == {remap_user.start}  # dockerd's way: <data-root>/<uid>.<gid>, chowned at unpack
    else:
        assert info["DockerRootDir"] == str(remapped.root / "data")
        assert owners == {0}  # as the image has them: shifted by the idmapped mount


@pytest.fixture
def host_dir(remapped: Engine) -> Path:
    """A host directory anyone may write to, with a file only the host's root may read."""
    path = remapped.root / ("bind-" + secrets.token_hex(4))
    path.mkdir(mode=0o777)
    path.chmod(0o777)
    (path / "secret").write_text("host root only\n")
    (path / "secret").chmod(0o600)
    return path


def _ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def _host_ids(pid: int) -> tuple[int, int]:
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(status["Uid"].split()[1]), int(status["Gid"].split()[1])


def _running(engine: Engine, *args: str) -> tuple[str, int]:
    cid = _ok(engine.docker("run", "-d", *args)).strip()
    pid = int(_ok(engine.docker("inspect", "-f", "{{.State.Pid}}", cid)).strip())
    return cid, pid


def test_container_root_is_the_mapped_uid_on_the_host(remapped: Engine, remap_user: RemapUser) -> None:
    cid, pid = _running(remapped, "busybox", "sleep", "60")
    try:
        assert _ok(remapped.docker("exec", cid, "id", "-u")).strip() == "0"
        assert _host_ids(pid) == (remap_user.start, remap_user.start)
    finally:
        remapped.docker("rm", "-f", cid)


def test_uid_map_inside_shows_the_mapping(remapped: Engine, remap_user: RemapUser) -> None:
    out = _ok(remapped.docker("run", "--rm", "busybox", "cat", "/proc/self/uid_map", "/proc/self/gid_map"))
    assert [line.split() for line in out.splitlines()] == [["0", str(remap_user.start), str(SIZE)]] * 2


def test_file_made_by_root_in_a_bind_mount_is_the_mapped_uid(
    remapped: Engine, remap_user: RemapUser, host_dir: Path
) -> None:
    _ok(remapped.docker("run", "--rm", "-v", f"{host_dir}:/b", "busybox", "touch", "/b/made"))
    st = (host_dir / "made").stat()
    assert (st.st_uid, st.st_gid) == (remap_user.start, remap_user.start)


def test_host_root_only_file_is_unreadable(remapped: Engine, host_dir: Path) -> None:
    result = remapped.docker("run", "--rm", "-v", f"{host_dir}:/b", "busybox", "cat", "/b/secret")
    assert result.returncode != 0
    assert b"Permission denied" in result.stderr
    assert b"host root only" not in result.stdout


def test_userns_host_runs_as_the_hosts_root(remapped: Engine, host_dir: Path) -> None:
    cid, pid = _running(remapped, "--userns=host", "-v", f"{host_dir}:/b", "busybox", "sleep", "60")
    try:
        assert _host_ids(pid) == (0, 0)
        assert _ok(remapped.docker("exec", cid, "cat", "/b/secret")) == "host root only\n"
    finally:
        remapped.docker("rm", "-f", cid)


def test_privileged_needs_userns_host(remapped: Engine) -> None:
    refused = remapped.docker("run", "--rm", "--privileged", "busybox", "true")
    assert refused.returncode != 0
    assert b"privileged mode is incompatible with user namespaces" in refused.stderr
    status, _ = remapped.request("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"],
                                 "HostConfig": {"Privileged": True}})  # fmt: skip
    assert status == 400
    out = _ok(
        remapped.docker(
            "run", "--rm", "--privileged", "--userns=host", "busybox", "cat", "/proc/self/uid_map"
        )
    )
    assert out.split() == ["0", "0", "4294967295"]


def test_unknown_userns_mode_is_a_bad_parameter(remapped: Engine) -> None:
    status, body = remapped.request("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"],
                                    "HostConfig": {"UsernsMode": "private:x"}})  # fmt: skip
    assert status == 400, body
    assert "USER mode" in json.loads(body)["message"]


def test_info_lists_userns(remapped: Engine) -> None:
    info = remapped.json("GET", "/info")
    assert "name=userns" in info["SecurityOptions"]


def test_root_files_volumes_and_etc_files_are_the_containers_own(
    remapped: Engine, remap_user: RemapUser
) -> None:
    volume = "v" + secrets.token_hex(4)
    script = (
        "ls -lnd / /bin/busybox | awk '{print $3}'; touch /new && mkdir -p /w/x && echo ok > /data/f"
        " && echo '10.0.0.9 extra' >> /etc/hosts && grep -c extra /etc/hosts && pwd"
    )
    out = _ok(
        remapped.docker(
            "run", "--rm", "-w", "/made/here", "-v", f"{volume}:/data", "busybox", "sh", "-c", script
        )
    )
    assert out.split() == ["0", "0", "1", "/made/here"]
    mountpoint = Path(_ok(remapped.docker("volume", "inspect", "-f", "{{.Mountpoint}}", volume)).strip())
    assert (mountpoint.stat().st_uid, (mountpoint / "f").stat().st_uid) == (
        remap_user.start,
        remap_user.start,
    )
    remapped.docker("volume", "rm", volume)


def test_limits_and_read_only_root_apply_to_a_remapped_container(remapped: Engine) -> None:
    files = ["memory/memory.limit_in_bytes", "pids/pids.max"]
    out = _ok(remapped.docker("run", "--rm", "-m", "64m", "--pids-limit", "50", "busybox", "cat",
                              *(f"/sys/fs/cgroup/{f}" for f in files)))  # fmt: skip
    assert out.split() == ["67108864", "50"]
    result = remapped.docker("run", "--rm", "--read-only", "busybox", "touch", "/x")
    assert result.returncode != 0 and b"Read-only file system" in result.stderr


def test_network_host_and_container_modes_start(remapped: Engine, remap_user: RemapUser) -> None:
    assert _ok(remapped.docker("run", "--rm", "--net", "host", "busybox", "id", "-u")).strip() == "0"
    cid, _ = _running(remapped, "busybox", "sleep", "60")
    try:
        out = _ok(
            remapped.docker(
                "run", "--rm", "--net", f"container:{cid}", "busybox", "cat", "/proc/self/uid_map"
            )
        )
        assert out.split() == ["0", str(remap_user.start), str(SIZE)]
    finally:
        remapped.docker("rm", "-f", cid)


def _layer_members(saved: bytes) -> dict[str, tarfile.TarInfo]:
    """Every member of every layer of a ``docker save`` archive, by name (the last layer wins)."""
    members: dict[str, tarfile.TarInfo] = {}
    with tarfile.open(fileobj=io.BytesIO(saved)) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(layer)) as inner:
                members.update({m.name: m for m in inner.getmembers()})
    return members


def test_build_runs_remapped_and_layers_keep_in_container_ids(remapped: Engine, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nRUN touch /x && chown 1000:1000 /x && cat /proc/self/uid_map > /map\nCOPY f /f\n"
    )
    (tmp_path / "f").write_text("copied\n")
    tag = "remapped-build-" + secrets.token_hex(3)
    build = remapped.docker("build", "-q", "-t", tag, str(tmp_path), timeout=180)
    assert build.returncode == 0, build.stderr
    saved = subprocess.run(["docker", "save", tag], env=remapped.env, capture_output=True, timeout=60)
    assert saved.returncode == 0, saved.stderr
    members = _layer_members(saved.stdout)
    assert (members["x"].uid, members["x"].gid) == (1000, 1000)
    assert (members["f"].uid, members["map"].uid) == (0, 0)
    # the RUN step ran in the user namespace: it saw the mapping
    out = _ok(remapped.docker("run", "--rm", tag, "cat", "/map"))
    assert out.split()[:2] == ["0", str(_mapped_start(remapped))]

    # saved, removed and loaded again, the image runs: the ids are shifted only at mount time
    _ok(remapped.docker("rmi", tag))
    _ok(remapped.docker("load", input=saved.stdout))
    cid, pid = _running(remapped, tag, "sleep", "60")
    try:
        assert _ok(remapped.docker("exec", cid, "stat", "-c", "%u", "/x")).strip() == "1000"
        assert Path(f"/proc/{pid}/root/x").stat().st_uid == _mapped_start(remapped) + 1000
    finally:
        remapped.docker("rm", "-f", cid)
        remapped.docker("rmi", tag)


def _mapped_start(engine: Engine) -> int:
    return int(_ok(engine.docker("run", "--rm", "busybox", "cat", "/proc/self/uid_map")).split()[1])


def test_commit_of_a_remapped_container_keeps_in_container_ids(remapped: Engine) -> None:
    cid = _ok(
        remapped.docker("run", "-d", "busybox", "sh", "-c", "touch /c && chown 7:8 /c && sleep 60")
    ).strip()
    try:
        tag = "remapped-commit-" + secrets.token_hex(3)
        _ok(remapped.docker("exec", cid, "true"))
        _ok(remapped.docker("commit", cid, tag))
        saved = subprocess.run(["docker", "save", tag], env=remapped.env, capture_output=True, timeout=60)
        member = _layer_members(saved.stdout)["c"]
        assert (member.uid, member.gid) == (7, 8)
    finally:
        remapped.docker("rm", "-f", cid)


def test_engine_refuses_a_data_root_the_remapped_root_cannot_enter(remap_user: RemapUser) -> None:
    eng = make_engine()  # its root is 0700, as mkdtemp makes it
    eng.extra = ("--userns-remap", remap_user.name)
    try:
        with pytest.raises(
            RuntimeError, match=r"does not let the remapped root .* through: allow o\+x on it"
        ):
            eng.start()
    finally:
        eng.cleanup()


def test_engine_refuses_a_user_without_subordinate_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("the engine needs root")
    name = "whn" + secrets.token_hex(4)
    subprocess.run(["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/bin/false", name],
                   check=True, capture_output=True)  # fmt: skip
    eng = make_engine()
    monkeypatch.setenv("WHARF_ENGINE_USERNS_REMAP", name)  # the setting, as the environment gives it
    try:
        with pytest.raises(RuntimeError, match=f"no subordinate uid range for user '{name}' in /etc/subuid"):
            eng.start()
        assert not eng.socket.exists()
    finally:
        eng.cleanup()
        subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["groupdel", name], capture_output=True)


def test_cp_and_export_of_a_running_container_carry_in_container_ids(
    remapped: Engine, tmp_path: Path
) -> None:
    cid = _ok(
        remapped.docker("run", "-d", "busybox", "sh", "-c", "touch /own && chown 5:6 /own && sleep 60")
    ).strip()
    try:
        _ok(remapped.docker("exec", cid, "true"))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("in.txt")
            info.size, info.uid, info.gid = 3, 1000, 1001
            tar.addfile(info, io.BytesIO(b"hi\n"))
        put = remapped.request("PUT", f"/containers/{cid}/archive?path=/tmp", buf.getvalue(),
                               {"Content-Type": "application/x-tar"})  # fmt: skip
        assert put[0] == 200, put
        assert _ok(remapped.docker("exec", cid, "stat", "-c", "%u:%g", "/tmp/in.txt")).strip() == "1000:1001"
        status, got = remapped.request("GET", f"/containers/{cid}/archive?path=/own")
        assert status == 200
        with tarfile.open(fileobj=io.BytesIO(got)) as tar:
            assert (tar.getmember("own").uid, tar.getmember("own").gid) == (5, 6)
        status, exported = remapped.request("GET", f"/containers/{cid}/export")
        assert status == 200
        with tarfile.open(fileobj=io.BytesIO(exported)) as tar:
            owners = {m.name: (m.uid, m.gid) for m in tar.getmembers()}
        assert owners["own"] == (5, 6)
        assert owners["tmp/in.txt"] == (1000, 1001)
        assert owners["bin/busybox"] == (0, 0)
    finally:
        remapped.docker("rm", "-f", cid)


def _has_user(name: str) -> bool:
    return subprocess.run(["getent", "passwd", name], capture_output=True).returncode == 0


def test_default_makes_the_wharfremap_user_and_its_ranges(busybox_tar: Path) -> None:
    """As dockerd's ``default``: the user and 65536 subordinate ids of its own, made once.

    If the host has no ``wharfremap`` yet, what the engine made is removed afterwards.
    """
    if os.geteuid() != 0:
        pytest.skip("the engine needs root")
    existed = _has_user("wharfremap")
    before = {p: p.read_text() if p.exists() else None for p in (SUBUID, SUBGID)}
    eng = make_engine()
    eng.root.chmod(0o711)
    eng.extra = ("--userns-remap", "default")
    try:
        eng.start()
        seed(str(eng.socket), busybox_tar)
        assert _has_user("wharfremap")
        lines = [x for x in SUBUID.read_text().splitlines() if x.startswith("wharfremap:")]
        assert len(lines) == 1 and lines[0].endswith(f":{SIZE}")
        start = int(lines[0].split(":")[1])
        assert [x for x in SUBGID.read_text().splitlines() if x.startswith("wharfremap:")]
        out = _ok(eng.docker("run", "--rm", "busybox", "cat", "/proc/self/uid_map"))
        assert out.split() == ["0", str(start), str(SIZE)]
        eng.stop()
        eng.start()  # the next start finds them and adds nothing
        assert [x for x in SUBUID.read_text().splitlines() if x.startswith("wharfremap:")] == lines
    finally:
        eng.cleanup()
        if not existed:
            for path, text in before.items():
                if text is None:
                    path.unlink(missing_ok=True)
                else:
                    _remove_line(path, next((x for x in path.read_text().splitlines()
                                             if x.startswith("wharfremap:")), ""))  # fmt: skip
            subprocess.run(["userdel", "wharfremap"], capture_output=True)
            subprocess.run(["groupdel", "wharfremap"], capture_output=True)


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryProcess]:
    reg = RegistryProcess()
    try:
        reg.start()
        yield reg
    finally:
        reg.cleanup()


def test_pushed_image_is_the_same_as_a_normal_engines_and_pulls_work(
    remapped: Engine, registry: RegistryProcess, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN touch /x && chown 1000:1000 /x\n")
    name = f"127.0.0.1:{registry.port}/remap/img{secrets.token_hex(3)}:t"
    _ok(remapped.docker("build", "-q", "-t", name, str(tmp_path), timeout=180))
    _ok(remapped.docker("push", name, timeout=120))

    plain = make_engine()  # an engine without remapping pulls the very same image
    try:
        plain.start()
        _ok(plain.docker("pull", name, timeout=120))
        # the same layers, byte for byte (diff ids), as a normal engine would have pushed
        layers = "{{json .RootFS.Layers}}"
        assert _ok(plain.docker("inspect", "-f", layers, name)) == _ok(
            remapped.docker("inspect", "-f", layers, name)
        )
        assert _ok(plain.docker("run", "--rm", name, "stat", "-c", "%u:%g", "/x")).strip() == "1000:1000"
    finally:
        plain.cleanup()

    _ok(remapped.docker("rmi", name))  # and the remapped engine pulls it back and runs it
    _ok(remapped.docker("pull", name, timeout=120))
    cid, pid = _running(remapped, name, "sleep", "60")
    try:
        assert _ok(remapped.docker("exec", cid, "stat", "-c", "%u", "/x")).strip() == "1000"
        assert Path(f"/proc/{pid}/root/x").stat().st_uid == _mapped_start(remapped) + 1000
    finally:
        remapped.docker("rm", "-f", cid)


def test_restarts_keep_the_mapping(remapped: Engine, remap_user: RemapUser) -> None:
    cid, pid = _running(remapped, "busybox", "sh", "-c", "touch /mine && sleep 60")
    try:
        remapped.stop()  # containers outlive their engine, and the next one knows them as remapped
        remapped.start()
        assert _host_ids(pid) == (remap_user.start, remap_user.start)
        status, got = remapped.request("GET", f"/containers/{cid}/archive?path=/mine")
        assert status == 200
        with tarfile.open(fileobj=io.BytesIO(got)) as tar:
            assert tar.getmember("mine").uid == 0
        _ok(remapped.docker("restart", "-t", "0", cid))  # mounted again through the mapping
        new_pid = int(_ok(remapped.docker("inspect", "-f", "{{.State.Pid}}", cid)).strip())
        assert new_pid != pid
        assert _host_ids(new_pid) == (remap_user.start, remap_user.start)
        assert _ok(remapped.docker("exec", cid, "stat", "-c", "%u", "/mine")).strip() == "0"
    finally:
        remapped.docker("rm", "-f", cid)
