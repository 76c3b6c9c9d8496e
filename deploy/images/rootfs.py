#!/usr/bin/env python3
"""Build an official image's rootfs (``debian``, ``python``, ``redis`` …) from Debian packages, cached.

Each image is a recipe, ``deploy/images/<name>/recipe.toml``: the packages to install on top of a
``minbase`` Debian root and the image config (``Cmd``, ``Env``, ``ExposedPorts``, ``WorkingDir``)::

    packages = ["redis-server"]
    drop = []                       # globs of paths left out of the rootfs, beside the common ones
    [config]
    Cmd = ["redis-server", "--protected-mode", "no"]
    ExposedPorts = ["6379/tcp"]

The root is made by ``mmdebstrap`` from the mirrors this machine's apt uses (``/etc/apt/sources.list``
and ``sources.list.d``), so nothing but Debian's archive is reached, with no recommends, no docs, man
pages, info pages or locales (dpkg ``path-exclude``, kept in the image so later installs skip them too).
The tar is then normalised: entries in mmdebstrap's sorted order, names without ``./``, numeric
ownership without user/group names, mtimes clamped to ``SOURCE_DATE_EPOCH``, only xattrs kept of the
PAX headers, and none of the files that belong to the machine or the moment rather than the packages
(device nodes, ``etc/hostname``, ``etc/resolv.conf``, ``__pycache__``, logs, apt lists and caches:
mmdebstrap removes the latter when ``SOURCE_DATE_EPOCH`` is set). The same packages in give the same
bytes out.

The output is cached outside the checkout, in ``$WHARF_IMAGE_CACHE`` (default ``/var/cache/wharf/images``)
as ``<name>-<key>.tar`` with ``<name>-<key>.tar.json`` (the config the engine's import applies, as
``deploy/images/busybox/build.py`` writes it). The key hashes the recipe, how it is built (mmdebstrap's
version and arguments, this builder's ``FORMAT``), the sources, the epoch and the version of every
package apt resolves for the image on this machine (an ``apt-get --simulate`` against an empty dpkg
status, memoised per state of ``/var/lib/apt/lists``): a new package version or an edited recipe makes a
new key (and the builds under older keys are removed), anything else is a cache hit. mmdebstrap fetches
fresh indices, so when this machine's lists are stale the image may hold newer versions than its key
says; the config beside it lists what was really installed.

Usage: ``deploy/images/rootfs.py NAME [--if-missing] [--output PATH] [--cache-dir DIR]``; prints the
path of the tar (the only thing written to stdout). ``--if-missing`` returns at once when it exists;
``--output`` builds to that path instead of the cache.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import fnmatch
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("images.rootfs")

HERE = Path(__file__).resolve().parent
CACHE_ENV = "WHARF_IMAGE_CACHE"
DEFAULT_CACHE = Path("/var/cache/wharf/images")
APT_LISTS = Path("/var/lib/apt/lists")
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
OS_RELEASE = Path("/etc/os-release")

DEFAULT_EPOCH = 1704067200
"""2024-01-01T00:00:00Z: every mtime when ``SOURCE_DATE_EPOCH`` is not set, so the output depends on the
packages only (not on when or where it was built)."""

ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
VARIANT = "minbase"
VARIANT_SELECTION = ("?or(?essential,?priority(required))", "apt", "usr-is-merged")
"""What mmdebstrap's minbase installs (Essential:yes, Priority:required and apt), as apt patterns; /usr is
merged the debootstrap way (``usr-is-merged``, not ``usrmerge``, which would pull in perl)."""
MERGED_USR_HOOKS = Path("/usr/share/mmdebstrap/hooks/merged-usr")

DPKG_OPTIONS = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/groff/*",
    "path-exclude=/usr/share/lintian/*",
    "path-exclude=/usr/share/linda/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
)
APT_OPTIONS = ('Acquire::Languages "none"', 'APT::Install-Recommends "false"')

ALWAYS_DROPPED = (
    "dev/*",  # the engine mounts /dev; mmdebstrap's tar carries device nodes
    "etc/hostname",  # copied from the build host; the engine bind-mounts these
    "etc/resolv.conf",
    "etc/hosts",
    "*/__pycache__",  # byte code: marshal output is not reproducible; Python rewrites it on demand
    "*/__pycache__/*",
    "var/cache/debconf/*-old",  # the databases before the last write
    "var/lib/dpkg/*-old",
)
KEPT_PAX_PREFIX = "SCHILY.xattr."
FORMAT = 1
"""Part of every cache key: bump it when ``normalise`` or the config written beside the tar changes."""
_INST = re.compile(r"^Inst (\S+) \((\S+)")


class BuildError(Exception):
    """The image could not be resolved or built."""


@dataclass(frozen=True, slots=True)
class Recipe:
    """One official image: what goes in and how it runs."""

    name: str
    packages: tuple[str, ...]
    config: dict[str, Any]
    drop: tuple[str, ...] = ()
    source: bytes = field(default=b"", repr=False)  # the recipe file, for the cache key

    @classmethod
    def load(cls, name: str) -> Recipe:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name):
            raise BuildError(f"invalid image name {name!r}")
        path = HERE / name / "recipe.toml"
        if not path.is_file():
            known = ", ".join(available())
            raise BuildError(f"no recipe for {name!r} ({path} is missing); known: {known}")
        source = path.read_bytes()
        try:
            data = tomllib.loads(source.decode())
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise BuildError(f"{path}: {exc}") from exc
        packages, drop, config = data.get("packages", []), data.get("drop", []), data.get("config", {})
        for key, value in (("packages", packages), ("drop", drop)):
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise BuildError(f"{path}: {key} must be a list of strings")
        if not isinstance(config, dict):
            raise BuildError(f"{path}: [config] must be a table")
        return cls(name, tuple(packages), {"Env": [ENV_PATH], **config}, tuple(drop), source)


def available() -> list[str]:
    """The images that have a recipe."""
    return sorted(path.parent.name for path in HERE.glob("*/recipe.toml"))


def _run(args: Sequence[str], *, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def source_files() -> list[Path]:
    """The apt sources this machine uses (disabled or renamed files are not read by apt either)."""
    single, directory = APT_SOURCES
    files = [single] if single.is_file() and single.stat().st_size else []
    if directory.is_dir():
        files += sorted(p for p in directory.iterdir() if p.suffix in (".list", ".sources") and p.is_file())
    if not files:
        raise BuildError("this machine has no apt sources (/etc/apt/sources.list*)")
    return files


def suite() -> str:
    for line in OS_RELEASE.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "VERSION_CODENAME" and value.strip('"'):
            return value.strip('"')
    raise BuildError(f"no VERSION_CODENAME in {OS_RELEASE}")


def source_date_epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(value) if value else DEFAULT_EPOCH


def _lists_state() -> str:
    """Changes whenever ``apt-get update`` fetched something new."""
    digest = hashlib.sha256()
    for path in sorted(APT_LISTS.glob("*")):
        if path.is_file() and path.name != "lock":
            st = path.stat()
            digest.update(f"{path.name} {st.st_size} {st.st_mtime_ns}\n".encode())
    for path in source_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()


def resolve(recipe: Recipe, cache_dir: Path) -> list[str]:
    """``name=version`` of every package the image gets, as apt resolves them here (memoised)."""
    selection = [*VARIANT_SELECTION, *recipe.packages]
    memo_key = hashlib.sha256(json.dumps([selection, _lists_state()]).encode()).hexdigest()[:32]
    memo = cache_dir / ".resolved" / f"{memo_key}.txt"
    if memo.is_file():
        return memo.read_text().split()
    with tempfile.NamedTemporaryFile(prefix="empty-status-") as empty:
        try:
            out = _run(
                [
                    "apt-get",
                    "--simulate",
                    "-q",
                    "-o",
                    f"Dir::State::status={empty.name}",
                    "-o",
                    "APT::Install-Recommends=false",
                    "install",
                    *selection,
                ]
            )
        except BuildError as exc:
            raise BuildError(
                f"apt cannot resolve {recipe.name} (is `apt-get update` needed?): {exc}"
            ) from exc
    resolved = sorted(f"{m[1]}={m[2]}" for m in map(_INST.match, out.splitlines()) if m)
    if not resolved:
        raise BuildError("apt resolved no packages: run `apt-get update`")
    memo.parent.mkdir(parents=True, exist_ok=True)
    tmp = memo.with_name(f".{memo.name}.{os.getpid()}")
    tmp.write_text("\n".join(resolved) + "\n")
    tmp.replace(memo)
    return resolved


def cache_key(recipe: Recipe, resolved: Sequence[str]) -> str:
    """What decides the output: the recipe, how it is built, the sources, the epoch, the versions."""
    how = [
        FORMAT,
        _run(["mmdebstrap", "--version"]).strip(),
        mmdebstrap_args(recipe, Path("-")),
        ALWAYS_DROPPED,
    ]
    digest = hashlib.sha256()
    for part in (
        recipe.source,
        json.dumps(how).encode(),
        *(path.read_bytes() for path in source_files()),
        f"{suite()} {source_date_epoch()}".encode(),
        "\n".join(resolved).encode(),
    ):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def _dropped(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def normalise(raw: Path, output: Path, mtime: int, drop: Sequence[str]) -> int:
    """Rewrite mmdebstrap's tar deterministically, without the dropped paths; returns the entry count."""
    patterns = (*ALWAYS_DROPPED, *drop)
    dropped: set[str] = set()
    count = 0
    with (
        tarfile.open(raw, "r:") as src,
        output.open("wb") as fh,
        tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as dst,
    ):
        for info in src:
            name = info.name.removeprefix("./").rstrip("/")
            if not name or name == ".":
                continue
            if _dropped(name, patterns):
                dropped.add(name)
                continue
            if info.islnk():
                info.linkname = info.linkname.removeprefix("./")
                if info.linkname in dropped:
                    raise BuildError(f"{name} is a hard link to the dropped {info.linkname}")
            info.name = name + ("/" if info.isdir() else "")
            info.mtime = min(int(info.mtime), mtime)
            info.uname = info.gname = ""
            info.pax_headers = {k: v for k, v in info.pax_headers.items() if k.startswith(KEPT_PAX_PREFIX)}
            dst.addfile(info, src.extractfile(info) if info.isreg() else None)
            count += 1
    return count


def installed_versions(tar: Path) -> dict[str, str]:
    """Package versions from the rootfs's own dpkg status (what actually got installed)."""
    with tarfile.open(tar, "r:") as archive:
        member = archive.extractfile("var/lib/dpkg/status")
        text = member.read().decode() if member else ""
    versions = {}
    for stanza in text.split("\n\n"):
        package = re.search(r"^Package: (\S+)$", stanza, re.MULTILINE)
        version = re.search(r"^Version: (\S+)$", stanza, re.MULTILINE)
        if package and version:
            versions[package[1]] = version[1]
    return dict(sorted(versions.items()))


def config_path(output: Path) -> Path:
    return output.with_name(output.name + ".json")


def write_config(recipe: Recipe, output: Path, mtime: int, key: str) -> dict[str, str]:
    versions = installed_versions(output)
    created = datetime.fromtimestamp(mtime, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    main = recipe.packages[0] if recipe.packages else "base-files"
    config = {
        **recipe.config,
        "created": created,
        "key": key,
        "version": versions.get(main, "unknown"),
        "packages": versions,
    }
    path = config_path(output)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return versions


def mmdebstrap_args(recipe: Recipe, target: Path) -> list[str]:
    args = [
        "mmdebstrap",
        f"--variant={VARIANT}",
        "--mode=root",
        "--format=tar",
        f"--hook-dir={MERGED_USR_HOOKS}",
    ]
    if recipe.packages:
        args.append("--include=" + ",".join(recipe.packages))
    args += [f"--aptopt={opt}" for opt in APT_OPTIONS]
    args += [f"--dpkgopt={opt}" for opt in DPKG_OPTIONS]
    return [*args, suite(), str(target), *(str(path) for path in source_files())]


def build(recipe: Recipe, output: Path, key: str) -> dict[str, str]:
    """Run mmdebstrap and write the normalised tar and its config at ``output``, atomically.

    Returns the installed package versions."""
    mtime = source_date_epoch()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{recipe.name}-build-", dir=output.parent) as tmp:
        raw, tar = Path(tmp) / "raw.tar", Path(tmp) / "rootfs.tar"
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(mtime), "TMPDIR": tmp, "LC_ALL": "C.UTF-8"}
        log.info("building %s with mmdebstrap (this takes a few minutes)", recipe.name)
        _run(mmdebstrap_args(recipe, raw), env=env)
        count = normalise(raw, tar, mtime, recipe.drop)
        tar.chmod(0o644)
        versions = write_config(recipe, tar, mtime, key)
        config_path(tar).replace(config_path(output))
        tar.replace(output)
    log.info("wrote %s (%d entries, %d MB)", output, count, output.stat().st_size >> 20)
    return versions


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One build of an image at a time (``make run`` seeds while ``make test`` may build)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def cache_dir_default() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def ensure(name: str, *, cache_dir: Path | None = None, output: Path | None = None, if_missing: bool) -> Path:
    """Build image ``name`` unless ``if_missing`` and it exists; returns the tar's path."""
    recipe = Recipe.load(name)
    if shutil.which("mmdebstrap") is None:
        raise BuildError(
            "mmdebstrap is not installed (`make system-packages` or `apt-get install mmdebstrap`)"
        )
    cache = cache_dir or cache_dir_default()
    resolved = resolve(recipe, cache)
    key = cache_key(recipe, resolved)
    target = output or cache / f"{name}-{key}.tar"
    with _locked(cache / f".{name}.lock"):
        if if_missing and target.is_file() and config_path(target).is_file():
            log.info("%s is cached: %s", name, target)
            return target
        installed = {f"{package}={version}" for package, version in build(recipe, target, key).items()}
        if newer := sorted(installed - set(resolved)):
            log.warning(
                "the mirror had newer packages than this machine's apt lists (`apt-get update`"
                " makes a new key): %s",
                " ".join(newer),
            )
        if output is None:
            _prune(cache, name, keep=target)
    return target


def _prune(cache: Path, name: str, keep: Path) -> None:
    """Remove the image's builds under older keys (a reader that has one open keeps its copy)."""
    for old in cache.glob(f"{name}-*.tar"):
        if old != keep and re.fullmatch(rf"{re.escape(name)}-[0-9a-f]{{16}}\.tar", old.name):
            config_path(old).unlink(missing_ok=True)
            old.unlink(missing_ok=True)
            log.info("removed the outdated %s", old)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("name", help=f"the image ({', '.join(available())})")
    parser.add_argument("--output", type=Path, help="build to this path instead of the cache")
    parser.add_argument("--cache-dir", type=Path, help=f"default: ${CACHE_ENV} or {DEFAULT_CACHE}")
    parser.add_argument("--if-missing", action="store_true", help="do nothing if the output exists")
    parser.add_argument("-q", "--quiet", action="store_true", help="only report errors")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    output = args.output.resolve() if args.output else None
    try:
        path = ensure(args.name, cache_dir=args.cache_dir, output=output, if_missing=args.if_missing)
    except (BuildError, OSError, tarfile.TarError) as exc:
        log.error("error: %s", exc)
        return 1
    sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
