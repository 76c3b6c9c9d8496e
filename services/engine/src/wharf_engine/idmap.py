"""``--userns-remap``: the host ids a container's root (and every id in it) becomes.

As dockerd: ``default`` makes (if missing) the system user and group ``wharfremap`` and gives
it 65536 subordinate ids in /etc/subuid and /etc/subgid, clear of every range already there;
``USER[:GROUP]`` takes that user's (and group's) first range. Container id ``n`` is host id
``start + n`` for ``n`` below the range's size; nothing else of the host is mapped.
"""

from __future__ import annotations

import fcntl
import grp
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wharf_common.errors import InvalidArgument

SUBUID = Path("/etc/subuid")
SUBGID = Path("/etc/subgid")
DEFAULT_USER = "wharfremap"
RANGE_SIZE = 65536
FIRST_ID = 100000  # below it live the host's own users


class RemapUnavailable(InvalidArgument):
    """``--userns-remap`` names something this host cannot give: the engine does not start."""


@dataclass(frozen=True, slots=True)
class IdRange:
    start: int
    size: int


@dataclass(frozen=True, slots=True)
class IdMap:
    """Container ids ``0..size-1`` ↔ host ids ``start..start+size-1``, for users and for groups."""

    user: str
    group: str
    uids: IdRange
    gids: IdRange

    @property
    def uid(self) -> int:
        """The host uid of the container's root."""
        return self.uids.start

    @property
    def gid(self) -> int:
        return self.gids.start

    def host_uid(self, uid: int) -> int:
        return self.uids.start + uid if 0 <= uid < self.uids.size else uid

    def host_gid(self, gid: int) -> int:
        return self.gids.start + gid if 0 <= gid < self.gids.size else gid

    def container_uid(self, uid: int) -> int:
        """The id a host uid has inside (unchanged when outside the range)."""
        return uid - self.uids.start if self.uids.start <= uid < self.uids.start + self.uids.size else uid

    def container_gid(self, gid: int) -> int:
        return gid - self.gids.start if self.gids.start <= gid < self.gids.start + self.gids.size else gid

    def oci_mappings(self) -> dict[str, list[dict[str, Any]]]:
        """``linux.uidMappings`` and ``linux.gidMappings`` of the OCI spec."""
        return {
            "uidMappings": [{"containerID": 0, "hostID": self.uids.start, "size": self.uids.size}],
            "gidMappings": [{"containerID": 0, "hostID": self.gids.start, "size": self.gids.size}],
        }


def parse_subids(text: str) -> list[tuple[str, IdRange]]:
    """``name-or-id:start:count`` lines; comments, blanks and malformed lines are skipped."""
    out = []
    for line in text.splitlines():
        parts = line.strip().split(":")
        if len(parts) != 3 or line.lstrip().startswith("#"):
            continue
        owner, start, count = parts
        if owner and start.isdigit() and count.isdigit() and int(count) > 0:
            out.append((owner, IdRange(int(start), int(count))))
    return out


def first_range(path: Path, names: tuple[str, ...]) -> IdRange | None:
    """The first range of ``path`` that belongs to one of ``names`` (a name or a numeric id)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return next((r for owner, r in parse_subids(text) if owner in names), None)


def free_start(taken: list[IdRange], size: int = RANGE_SIZE, lowest: int = FIRST_ID) -> int:
    """The lowest start at or above ``lowest`` whose ``size`` ids overlap none of ``taken``."""
    start = lowest
    for r in sorted(taken, key=lambda r: r.start):
        if r.start + r.size <= start:
            continue
        if r.start >= start + size:
            break
        start = r.start + r.size
    return start


def allocate_range(path: Path, owner: str, size: int = RANGE_SIZE) -> IdRange:
    """``owner``'s first range in ``path``, appending a free one if it has none (file locked)."""
    path.touch(mode=0o644, exist_ok=True)
    with open(path, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        entries = parse_subids(f.read())
        mine = next((r for name, r in entries if name == owner), None)
        if mine is not None:
            return mine
        mine = IdRange(free_start([r for _, r in entries], size), size)
        f.seek(0, 2)
        if f.tell() and not _ends_with_newline(path):
            f.write("\n")
        f.write(f"{owner}:{mine.start}:{mine.size}\n")
        return mine


def _ends_with_newline(path: Path) -> bool:
    data = path.read_bytes()
    return not data or data.endswith(b"\n")


def _ensure_default_user() -> None:
    try:
        pwd.getpwnam(DEFAULT_USER)
        return
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/bin/false", DEFAULT_USER],
        capture_output=True,
    )
    if result.returncode != 0:
        raise RemapUnavailable(
            f"--userns-remap default: cannot create the user {DEFAULT_USER!r}: "
            f"{result.stderr.decode(errors='replace').strip()}"
        )


def _names(entry: str, lookup: Any) -> tuple[str, ...]:
    """The name and the numeric id an entry can be written with in a subid file."""
    try:
        record = lookup(int(entry)) if entry.isdigit() else lookup(entry)
    except KeyError:
        return (entry,)
    return (record[0], str(record[2]))


def resolve(value: str, *, subuid: Path = SUBUID, subgid: Path = SUBGID) -> IdMap:
    """The mapping ``--userns-remap value`` means; raises RemapUnavailable with the reason."""
    value = value.strip()
    if value == "default":
        _ensure_default_user()
        uids = allocate_range(subuid, DEFAULT_USER)
        gids = allocate_range(subgid, DEFAULT_USER)
        return IdMap(DEFAULT_USER, DEFAULT_USER, uids, gids)
    user, _, group = value.partition(":")
    if not user:
        raise RemapUnavailable(f"--userns-remap: {value!r} is not default or USER[:GROUP]")
    user_names = _names(user, pwd.getpwuid if user.isdigit() else pwd.getpwnam)
    if len(user_names) == 1:
        raise RemapUnavailable(f"--userns-remap: no such user {user!r} on this host")
    group = group or user_names[0]
    group_names = _names(group, grp.getgrgid if group.isdigit() else grp.getgrnam)
    if len(group_names) == 1:
        raise RemapUnavailable(f"--userns-remap: no such group {group!r} on this host")
    user_range = first_range(subuid, user_names)
    if user_range is None:
        raise RemapUnavailable(
            f"--userns-remap: no subordinate uid range for user {user_names[0]!r} in {subuid}"
        )
    group_range = first_range(subgid, group_names)
    if group_range is None:
        raise RemapUnavailable(
            f"--userns-remap: no subordinate gid range for group {group_names[0]!r} in {subgid}"
        )
    return IdMap(user_names[0], group_names[0], user_range, group_range)
