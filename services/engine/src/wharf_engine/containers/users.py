"""Resolve ``-u user[:group]`` against the container's own /etc/passwd and /etc/group."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wharf_common.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class User:
    uid: int
    gid: int
    home: str = "/"
    additional_gids: list[int] = field(default_factory=list)


def _read(root: Path, name: str) -> list[list[str]]:
    path = root / "etc" / name
    try:
        # never follow a link out of the rootfs
        if path.parent.is_symlink() or path.is_symlink() or not path.is_file():
            return []
        return [line.split(":") for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return []


def resolve_user(root: Path, spec: str) -> User:
    """Names are looked up in the image; numeric ids need not exist there, as in Docker."""
    user, _, group = spec.partition(":")
    passwd = _read(root, "passwd")
    uid, gid, home, username = 0, 0, "/root", "root"
    if user:
        entry = next((e for e in passwd if len(e) >= 6 and (e[0] == user or e[2] == user)), None)
        if entry is not None:
            username, uid, gid, home = entry[0], int(entry[2]), int(entry[3]), entry[5]
        elif user.isascii() and user.isdigit():
            uid, gid, home, username = int(user), int(user), "/", ""
        else:
            raise InvalidArgument(f"unable to find user {user}: no matching entries in passwd file")
    else:
        entry = next((e for e in passwd if len(e) >= 6 and e[2] == "0"), None)
        home = entry[5] if entry else "/root"
    groups = _read(root, "group")
    if group:
        found = next((e for e in groups if len(e) >= 3 and (e[0] == group or e[2] == group)), None)
        if found is not None:
            gid = int(found[2])
        elif group.isascii() and group.isdigit():
            gid = int(group)
        else:
            raise InvalidArgument(f"unable to find group {group}: no matching entries in group file")
    extra = sorted(
        {
            int(e[2])
            for e in groups
            if len(e) >= 4 and username and username in e[3].split(",") and int(e[2]) != gid
        }
    )
    return User(uid=uid, gid=gid, home=home, additional_gids=extra)


def group_ids(root: Path, groups: list[str]) -> list[int]:
    """``--group-add``: names looked up in the container's /etc/group, numbers taken as they are."""
    entries = _read(root, "group")
    gids: list[int] = []
    for group in groups:
        found = next((e for e in entries if len(e) >= 3 and e[0] == group), None)
        if found is not None and found[2].isdigit():
            gids.append(int(found[2]))
        elif group.isascii() and group.isdigit():
            gids.append(int(group))
        else:
            raise InvalidArgument(f"Unable to find group {group}: no matching entries in group file")
    return gids
