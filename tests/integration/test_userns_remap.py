"""``--userns-remap``: a container's root is a subordinate id on the host, not the host's root.

The module's engine remaps to a user of its own (see ``remap.py``), with layers idmapped at
mount time and, again, chowned once at unpack (the fallback); images are in
``test_userns_remap_images.py``.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import tarfile
from pathlib import Path

import pytest
from engines import Engine, make_engine, needs_docker
from remap import (
    SIZE,
    SUBGID,
    SUBUID,
    RemapUser,
    host_ids,
    ok,
    remove_line,
    running,
)
from seed import seed

pytestmark = [pytest.mark.root, needs_docker]


@pytest.fixture
def host_dir(remapped: Engine) -> Path:
    """A host directory anyone may write to, with a file only the host's root may read."""
    path = remapped.root / ("bind-" + secrets.token_hex(4))
    path.mkdir(mode=0o777)
    path.chmod(0o777)
    (path / "secret").write_text("host root only\n")
    (path / "secret").chmod(0o600)
    return path


def test_container_root_is_the_mapped_uid_on_the_host(remapped: Engine, remap_user: RemapUser) -> None:
    cid, pid = running(remapped, "busybox", "sleep", "60")
    try:
        assert ok(remapped.docker("exec", cid, "id", "-u")).strip() == "0"
        assert host_ids(pid) == (remap_user.start, remap_user.start)
    finally:
        remapped.docker("rm", "-f", cid)


def test_uid_map_inside_shows_the_mapping(remapped: Engine, remap_user: RemapUser) -> None:
    out = ok(remapped.docker("run", "--rm", "busybox", "cat", "/proc/self/uid_map", "/proc/self/gid_map"))
    assert [line.split() for line in out.splitlines()] == [["0", str(remap_user.start), str(SIZE)]] * 2


def test_file_made_by_root_in_a_bind_mount_is_the_mapped_uid(
    remapped: Engine, remap_user: RemapUser, host_dir: Path
) -> None:
    ok(remapped.docker("run", "--rm", "-v", f"{host_dir}:/b", "busybox", "touch", "/b/made"))
    st = (host_dir / "made").stat()
    assert (st.st_uid, st.st_gid) == (remap_user.start, remap_user.start)


def test_host_root_only_file_is_unreadable(remapped: Engine, host_dir: Path) -> None:
    result = remapped.docker("run", "--rm", "-v", f"{host_dir}:/b", "busybox", "cat", "/b/secret")
    assert result.returncode != 0
    assert b"Permission denied" in result.stderr
    assert b"host root only" not in result.stdout


def test_userns_host_runs_as_the_hosts_root(remapped: Engine, host_dir: Path) -> None:
    cid, pid = running(remapped, "--userns=host", "-v", f"{host_dir}:/b", "busybox", "sleep", "60")
    try:
        assert host_ids(pid) == (0, 0)
        assert ok(remapped.docker("exec", cid, "cat", "/b/secret")) == "host root only\n"
    finally:
        remapped.docker("rm", "-f", cid)


def test_privileged_needs_userns_host(remapped: Engine) -> None:
    refused = remapped.docker("run", "--rm", "--privileged", "busybox", "true")
    assert refused.returncode != 0
    assert b"privileged mode is incompatible with user namespaces" in refused.stderr
    status, _ = remapped.request(
        "POST",
        "/containers/create",
        {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Privileged": True}},
    )
    assert status == 400
    out = ok(
        remapped.docker(
            "run", "--rm", "--privileged", "--userns=host", "busybox", "cat", "/proc/self/uid_map"
        )
    )
    assert out.split() == ["0", "0", "4294967295"]


def test_unknown_userns_mode_is_a_bad_parameter(remapped: Engine) -> None:
    status, body = remapped.request(
        "POST",
        "/containers/create",
        {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"UsernsMode": "private:x"}},
    )
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
    out = ok(
        remapped.docker(
            "run", "--rm", "-w", "/made/here", "-v", f"{volume}:/data", "busybox", "sh", "-c", script
        )
    )
    assert out.split() == ["0", "0", "1", "/made/here"]
    mountpoint = Path(ok(remapped.docker("volume", "inspect", "-f", "{{.Mountpoint}}", volume)).strip())
    assert (mountpoint.stat().st_uid, (mountpoint / "f").stat().st_uid) == (
        remap_user.start,
        remap_user.start,
    )
    remapped.docker("volume", "rm", volume)


def test_limits_and_read_only_root_apply_to_a_remapped_container(remapped: Engine) -> None:
    files = ["memory/memory.limit_in_bytes", "pids/pids.max"]
    out = ok(
        remapped.docker(
            "run",
            "--rm",
            "-m",
            "64m",
            "--pids-limit",
            "50",
            "busybox",
            "cat",
            *(f"/sys/fs/cgroup/{f}" for f in files),
        )
    )
    assert out.split() == ["67108864", "50"]
    result = remapped.docker("run", "--rm", "--read-only", "busybox", "touch", "/x")
    assert result.returncode != 0 and b"Read-only file system" in result.stderr


def test_network_host_and_container_modes_start(remapped: Engine, remap_user: RemapUser) -> None:
    assert ok(remapped.docker("run", "--rm", "--net", "host", "busybox", "id", "-u")).strip() == "0"
    cid, _ = running(remapped, "busybox", "sleep", "60")
    try:
        out = ok(
            remapped.docker(
                "run", "--rm", "--net", f"container:{cid}", "busybox", "cat", "/proc/self/uid_map"
            )
        )
        assert out.split() == ["0", str(remap_user.start), str(SIZE)]
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
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/bin/false", name],
        check=True,
        capture_output=True,
    )
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
        out = ok(eng.docker("run", "--rm", "busybox", "cat", "/proc/self/uid_map"))
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
                    remove_line(
                        path,
                        next((x for x in path.read_text().splitlines() if x.startswith("wharfremap:")), ""),
                    )
            subprocess.run(["userdel", "wharfremap"], capture_output=True)
            subprocess.run(["groupdel", "wharfremap"], capture_output=True)


def test_restarts_keep_the_mapping(remapped: Engine, remap_user: RemapUser) -> None:
    cid, pid = running(remapped, "busybox", "sh", "-c", "touch /mine && sleep 60")
    try:
        remapped.stop()  # containers outlive their engine, and the next one knows them as remapped
        remapped.start()
        assert host_ids(pid) == (remap_user.start, remap_user.start)
        status, got = remapped.request("GET", f"/containers/{cid}/archive?path=/mine")
        assert status == 200
        with tarfile.open(fileobj=io.BytesIO(got)) as tar:
            assert tar.getmember("mine").uid == 0
        ok(remapped.docker("restart", "-t", "0", cid))  # mounted again through the mapping
        new_pid = int(ok(remapped.docker("inspect", "-f", "{{.State.Pid}}", cid)).strip())
        assert new_pid != pid
        assert host_ids(new_pid) == (remap_user.start, remap_user.start)
        assert ok(remapped.docker("exec", cid, "stat", "-c", "%u", "/mine")).strip() == "0"
    finally:
        remapped.docker("rm", "-f", cid)
