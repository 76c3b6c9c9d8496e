"""Fetch exactly the commit a build is for, shallow where the server allows it.

Sources are git URLs (``https://``, ``ssh://``, ``git://``, ``user@host:path``) or a local path to a
bare repository (self-hosted). git's own messages end up in the build log when a fetch fails.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildUserError

_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/nonexistent",
}


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    message: str


def source_url(source: str) -> str:
    """A local path becomes a ``file://`` URL, so shallow fetches work on it too."""
    if source.startswith("/"):
        return Path(source).resolve().as_uri()
    if source.startswith("-"):
        raise BuildUserError(f"invalid source repository {source!r}")
    return source


def checkout(source: str, ref: str, commit: str | None, dest: Path, *, timeout: float = 600) -> Commit:
    """``dest`` (a new directory) becomes a work tree of ``commit`` (or of ``ref``'s tip when no
    commit is given); ``ref`` is a branch or tag name, or a full ref."""
    if ref.startswith("-") or (commit is not None and not _is_sha(commit)):
        raise BuildUserError(f"invalid source reference {ref!r} {commit or ''}".strip())
    dest.mkdir(parents=True)
    _git(["init", "-q", str(dest)], None, timeout)
    _git(["remote", "add", "origin", source_url(source)], dest, timeout)
    if commit is not None:
        try:
            _git(["fetch", "-q", "--depth", "1", "--no-tags", "origin", commit], dest, timeout)
        except BuildUserError:
            # the server refuses a bare sha: fetch the ref and find the commit in its history
            _git(["fetch", "-q", "--no-tags", "origin", ref], dest, timeout)
        target = commit
    else:
        _git(["fetch", "-q", "--depth", "1", "--no-tags", "origin", ref], dest, timeout)
        target = "FETCH_HEAD"
    _git(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", target], dest, timeout)
    if (dest / ".gitmodules").exists():
        _git(["submodule", "update", "-q", "--init", "--recursive", "--depth", "1"], dest, timeout)
    out = _git(["log", "-1", "--format=%H%n%B"], dest, timeout)
    sha, _, message = out.partition("\n")
    return Commit(sha.strip(), message.strip())


def _is_sha(value: str) -> bool:
    return 7 <= len(value) <= 64 and all(c in "0123456789abcdef" for c in value)


def _git(args: list[str], cwd: Path | None, timeout: float) -> str:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env={**_ENV, "LANG": os.environ.get("LANG", "C.UTF-8")},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BuildUserError(f"git {args[0]} timed out after {timeout:.0f} s") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
        raise BuildUserError(f"git {args[0]} failed: {message}")
    return done.stdout.decode(errors="replace")


__all__ = ["Commit", "checkout", "source_url"]
