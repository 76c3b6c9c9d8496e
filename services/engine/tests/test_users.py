from __future__ import annotations

from pathlib import Path

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.containers.users import resolve_user


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\n")
    (etc / "group").write_text("root:x:0:\nwww:x:33:\nstaff:x:50:www,other\n")
    return tmp_path


def test_default_is_root_with_home(rootfs: Path) -> None:
    user = resolve_user(rootfs, "")
    assert (user.uid, user.gid, user.home) == (0, 0, "/root")


def test_name_and_supplementary_groups(rootfs: Path) -> None:
    user = resolve_user(rootfs, "www")
    assert (user.uid, user.gid, user.home, user.additional_gids) == (33, 33, "/var/www", [50])


def test_numeric_ids_need_no_entry(rootfs: Path) -> None:
    user = resolve_user(rootfs, "1234:5678")
    assert (user.uid, user.gid) == (1234, 5678)


def test_group_by_name(rootfs: Path) -> None:
    assert resolve_user(rootfs, "www:staff").gid == 50


def test_unknown_names_are_errors(rootfs: Path) -> None:
    with pytest.raises(InvalidArgument, match="unable to find user ghost"):
        resolve_user(rootfs, "ghost")
    with pytest.raises(InvalidArgument, match="unable to find group ghosts"):
        resolve_user(rootfs, "www:ghosts")


def test_symlinked_passwd_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").symlink_to("/etc/passwd")
    with pytest.raises(InvalidArgument):
        resolve_user(tmp_path, "root")


@pytest.mark.parametrize("spec", ["\u00b2", "root:\u00b2"])
def test_unicode_digits_are_not_ids(rootfs: Path, spec: str) -> None:
    """ "²" is a digit to str.isdigit(), not to int(): a clear error, not a ValueError."""
    with pytest.raises(InvalidArgument, match="unable to find"):
        resolve_user(rootfs, spec)
