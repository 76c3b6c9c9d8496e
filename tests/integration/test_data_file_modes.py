"""What the hub and the registry write is theirs alone: 0700 directories, 0600 files (the
database, the signing key, the cookie secret, mails in the outbox, layers, image JSON, tags).

Real processes: a hub and a registry in index mode; a sign-up (a mail in the outbox) and a push
through both write the files; then every file under their data roots is checked.
"""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
from hubstack import hub_stack
from v1flows import push

PASSWORD = "modes-pass-1"
PUBLIC = {"token-signing.pub.pem", "bearer-signing.crt"}
"""Public on purpose (0644): the v1 token key's public half and the v2 bearer key's certificate,
which registries read; the 0700 data root still guards them."""
WRITTEN_BY_THE_TEST = {"hub.log", "registry.log"}
FAST_PASSWORDS = {"WHARF_HUB_PASSWORDS__TIME_COST": "1", "WHARF_HUB_PASSWORDS__MEMORY_COST": "8192"}


def loose(root: Path) -> list[str]:
    """Everything under ``root`` (and itself) that group or others may use."""
    found = []
    for path in [root, *root.rglob("*")]:
        if path.name in WRITTEN_BY_THE_TEST or path.is_symlink():
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        allowed = 0o044 if path.name in PUBLIC else 0
        if mode & 0o077 & ~allowed:
            found.append(f"{path.relative_to(root.parent)} {oct(mode)}")
    return found


def test_hub_and_registry_files_are_private() -> None:
    with hub_stack("wharf-modes-", {"alice": PASSWORD}, env=FAST_PASSWORDS) as stack:
        signup = {"username": "bobby", "email": "bobby@example.test", "password": "quiet-river-42"}
        assert httpx.post(f"{stack.hub.url}/api/v1/users", json=signup, timeout=30).status_code == 201
        push(stack, "alice/web", "alice", PASSWORD)
        hub_root, registry_root = stack.hub.root, stack.registry.data
        assert (hub_root / "hub.db").is_file() and (hub_root / "token-signing.pem").is_file()
        assert any((hub_root / "outbox").iterdir()), "the sign-up mail"
        assert any(p.is_file() for p in (registry_root / "repositories").rglob("*"))
        assert loose(hub_root) == []
        assert loose(registry_root) == []
