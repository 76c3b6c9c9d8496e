"""--userns-remap: subordinate id files, range allocation, the OCI spec's user namespace."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from wharf_engine.idmap import (
    IdMap,
    IdRange,
    RemapUnavailable,
    allocate_range,
    free_start,
    parse_subids,
    resolve,
)
from wharf_engine.runtime.spec import ProcessSpec, build_spec

ROOT = "root"  # a user every host has, with uid 0 and group root


def test_parse_skips_comments_blanks_and_malformed_lines() -> None:
    text = "# comment\n\nalice:100000:65536\nbroken\nbob:x:1\n1001:165536:65536\nzero:1:0\n"
    assert parse_subids(text) == [("alice", IdRange(100000, 65536)), ("1001", IdRange(165536, 65536))]


def test_free_start_skips_every_overlapping_range() -> None:
    assert free_start([]) == 100000
    taken = [IdRange(100000, 65536), IdRange(165536, 10), IdRange(300000, 65536)]
    assert free_start(taken) == 165546
    assert free_start([IdRange(150000, 100000)]) == 250000
    assert free_start([IdRange(0, 99999), IdRange(400000, 5)]) == 100000


def test_allocate_appends_a_free_range_once(tmp_path: Path) -> None:
    subuid = tmp_path / "subuid"
    subuid.write_text("alice:100000:65536\nbob:165536:65536")  # no final newline
    first = allocate_range(subuid, "wharfremap")
    assert first == IdRange(231072, 65536)
    assert allocate_range(subuid, "wharfremap") == first  # the same on the next start-up
    assert subuid.read_text().splitlines()[-1] == "wharfremap:231072:65536"
    assert len(subuid.read_text().splitlines()) == 3


def test_allocate_creates_a_missing_file(tmp_path: Path) -> None:
    assert allocate_range(tmp_path / "subgid", "wharfremap") == IdRange(100000, 65536)


def test_resolve_takes_the_users_first_range_by_name_or_id(tmp_path: Path) -> None:
    subuid, subgid = tmp_path / "subuid", tmp_path / "subgid"
    subuid.write_text("root:200000:1000\nroot:900000:65536\n")
    subgid.write_text("0:300000:65536\n")  # a numeric id names the group as well
    remap = resolve("root", subuid=subuid, subgid=subgid)
    assert (remap.uid, remap.gid, remap.uids.size, remap.group) == (200000, 300000, 1000, "root")
    assert resolve("0:0", subuid=subuid, subgid=subgid) == remap


def test_resolve_without_a_range_says_which_file_lacks_it(tmp_path: Path) -> None:
    subuid, subgid = tmp_path / "subuid", tmp_path / "subgid"
    subuid.write_text("someone:100000:65536\n")
    with pytest.raises(RemapUnavailable, match=f"no subordinate uid range for user 'root' in {subuid}"):
        resolve("root", subuid=subuid, subgid=subgid)
    subuid.write_text("root:100000:65536\n")
    with pytest.raises(RemapUnavailable, match=f"no subordinate gid range for group 'root' in {subgid}"):
        resolve("root", subuid=subuid, subgid=subgid)


def test_resolve_refuses_unknown_users_and_groups(tmp_path: Path) -> None:
    with pytest.raises(RemapUnavailable, match="no such user 'no-such-user-x'"):
        resolve("no-such-user-x", subuid=tmp_path / "a", subgid=tmp_path / "b")
    with pytest.raises(RemapUnavailable, match="no such group 'no-such-group-x'"):
        resolve("root:no-such-group-x", subuid=tmp_path / "a", subgid=tmp_path / "b")
    with pytest.raises(RemapUnavailable, match="not default or USER"):
        resolve(":x", subuid=tmp_path / "a", subgid=tmp_path / "b")


def test_ids_shift_only_inside_the_range() -> None:
    remap = IdMap("u", "g", IdRange(100000, 65536), IdRange(200000, 10))
    assert (remap.host_uid(0), remap.host_uid(1000), remap.host_uid(70000)) == (100000, 101000, 70000)
    assert (remap.host_gid(9), remap.host_gid(10)) == (200009, 10)
    assert (remap.container_uid(101000), remap.container_uid(5), remap.container_gid(200009)) == (1000, 5, 9)


def _spec(tmp_path: Path, **kwargs: object) -> dict[str, object]:
    process = ProcessSpec(args=["sh"], env=[], cwd="/", uid=0, gid=0)
    return build_spec(rootfs=tmp_path, process=process, hostname="h", cgroups_path="/x", binds=[], **kwargs)  # type: ignore[arg-type]


def test_spec_with_a_mapping_has_a_user_namespace_and_its_maps(tmp_path: Path) -> None:
    remap = IdMap("u", "g", IdRange(100000, 65536), IdRange(200000, 65536))
    linux = _spec(tmp_path, idmap=remap)["linux"]
    assert isinstance(linux, dict)
    assert {"type": "user"} in linux["namespaces"]
    assert linux["uidMappings"] == [{"containerID": 0, "hostID": 100000, "size": 65536}]
    assert linux["gidMappings"] == [{"containerID": 0, "hostID": 200000, "size": 65536}]
    plain = _spec(tmp_path)["linux"]
    assert isinstance(plain, dict)
    assert "uidMappings" not in plain and all(ns["type"] != "user" for ns in plain["namespaces"])


def test_spec_binds_sys_when_the_network_namespace_is_not_the_containers(tmp_path: Path) -> None:
    remap = IdMap("u", "g", IdRange(100000, 65536), IdRange(100000, 65536))

    def sys_mount(**kwargs: object) -> dict[str, object]:
        mounts = _spec(tmp_path, idmap=remap, **kwargs)["mounts"]
        assert isinstance(mounts, list)
        return next(m for m in mounts if m["destination"] == "/sys")

    assert sys_mount()["type"] == "sysfs"
    assert sys_mount(host_network=True)["type"] == "bind"
    assert sys_mount(netns="/proc/1/ns/net")["type"] == "bind"
    joined = _spec(tmp_path, idmap=remap, netns="/proc/9/ns/net", userns="/proc/9/ns/user")
    assert isinstance(joined["linux"], dict) and isinstance(joined["mounts"], list)
    assert {"type": "user", "path": "/proc/9/ns/user"} in joined["linux"]["namespaces"]
    assert next(m for m in joined["mounts"] if m["destination"] == "/sys")["type"] == "sysfs"


@pytest.mark.root
def test_idmapped_overlay_shows_shifted_ids_and_stores_the_containers(tmp_path: Path) -> None:
    """The kernel part: a root mounted through the mapping, written to by the remapped root."""
    if os.geteuid() != 0:
        pytest.skip("mounting needs root")
    from wharf_engine.layers.idmapped import IdmappedOverlay
    from wharf_engine.layers.mounts import unmount

    remap = IdMap("u", "g", IdRange(400000, 65536), IdRange(400000, 65536))
    base = tmp_path / "root"
    dirs = [base / n for n in ("lower", "upper", "work", "merged")]
    for d in dirs:
        d.mkdir(parents=True)
    (dirs[0] / "f").write_text("x")
    os.chown(dirs[0] / "f", 1000, 1000)
    (dirs[0] / "f").chmod(0o666)
    overlay = IdmappedOverlay(remap)
    try:
        overlay.mount(base, dirs[:1], dirs[1], dirs[2], dirs[3])
        try:
            assert (dirs[3] / "f").stat().st_uid == 401000
            merged = os.open(dirs[3], os.O_RDONLY | os.O_DIRECTORY)  # tmp_path's parents are 0700
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child, as the remapped root
                try:
                    os.setgid(400000)
                    os.setuid(400000)
                    os.close(os.open("new", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=merged))
                    os.close(os.open("f", os.O_WRONLY, dir_fd=merged))  # a copy-up
                    os._exit(0)
                except BaseException:
                    os._exit(1)
            os.close(merged)
            assert os.waitpid(pid, 0)[1] == 0
            assert (dirs[1] / "new").stat().st_uid == 0
            assert (dirs[1] / "f").stat().st_uid == 1000
        finally:
            unmount(dirs[3])
    finally:
        overlay.close()


@pytest.mark.root
def test_shift_tree_keeps_set_id_bits_and_capabilities_and_is_idempotent(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    from wharf_engine.layers.shift import CAPABILITY_XATTR, shift_tree

    remap = IdMap("u", "g", IdRange(400000, 65536), IdRange(500000, 65536))
    root = tmp_path / "diff"
    (root / "bin").mkdir(parents=True)
    tool, owned, link = root / "bin" / "tool", root / "owned", root / "link"
    tool.write_text("x")
    tool.chmod(0o4755)
    caps = b"\x00\x00\x00\x02" + b"\x00\x20\x00\x00" * 1 + b"\x00" * 12  # v2: cap_net_raw permitted
    os.setxattr(tool, CAPABILITY_XATTR, caps)
    owned.write_text("y")
    os.chown(owned, 1000, 33)
    link.symlink_to("owned")
    os.chown(link, 7, 7, follow_symlinks=False)
    already = root / "already"
    already.write_text("z")
    os.chown(already, 400005, 500006)  # a host id of the range (a RUN step wrote it): kept

    shift_tree(root, remap)
    shift_tree(root, remap)  # a second pass changes nothing

    def owner(p: Path) -> tuple[int, int]:
        st = p.lstat()
        return st.st_uid, st.st_gid

    assert owner(root) == (400000, 500000)
    assert owner(owned) == (401000, 500033)
    assert owner(link) == (400007, 500007)
    assert owner(already) == (400005, 500006)
    assert stat.S_IMODE(tool.stat().st_mode) == 0o4755
    assert os.getxattr(tool, CAPABILITY_XATTR) == caps


@pytest.mark.root
def test_shift_tree_refuses_ids_outside_the_range(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    from wharf_engine.layers.shift import UnmappableId, shift_tree

    (tmp_path / "big").write_text("x")
    os.chown(tmp_path / "big", 70000, 0)
    with pytest.raises(UnmappableId, match="owner 70000:0 cannot be mapped"):
        shift_tree(tmp_path, IdMap("u", "g", IdRange(400000, 65536), IdRange(400000, 65536)))
