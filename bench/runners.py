"""The container runners ``bench.py`` and ``net_bench.py`` time: ``runc run`` of a prepared busybox bundle
(the floor), a wharf engine started here, and podman on a private store."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # run as a script, sys.path[0] is bench/; mypy sees bench/ as a namespace package
    from bench.harness import (
        ULIMITS,
        VENV_BIN,
        Case,
        Skip,
        import_image,
        run_checked,
        start_daemon,
        tool,
        unmount_under,
    )
else:
    from harness import (
        ULIMITS,
        VENV_BIN,
        Case,
        Skip,
        import_image,
        run_checked,
        start_daemon,
        tool,
        unmount_under,
    )


def setup_floor(tmp: Path, image: Path) -> Case:
    runc = tool("runc")
    bundle, state = tmp / "bundle", tmp / "runc"
    (bundle / "rootfs").mkdir(parents=True)
    run_checked(["tar", "-xf", str(image), "-C", str(bundle / "rootfs")])
    run_checked([runc, "spec"], cwd=bundle)
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"].update(args=["true"], terminal=False)
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
    (bundle / "config.json").write_text(json.dumps(spec))

    def cid(i: int) -> str:
        return f"wharf-bench-{os.getpid()}-{i}"

    def delete(i: int) -> None:
        subprocess.run([runc, "--root", str(state), "delete", "-f", cid(i)], capture_output=True, check=False)

    return Case(lambda i: [runc, "--root", str(state), "run", "--bundle", str(bundle), cid(i)], after=delete)


def host_bridges() -> set[str]:
    out = subprocess.run(
        ["ip", "-o", "link", "show", "type", "bridge"], capture_output=True, text=True, check=False
    )
    return {line.split(":")[1].strip() for line in out.stdout.splitlines() if ":" in line}


def remove_new_bridge(stack: contextlib.ExitStack, name: str) -> None:
    """On the way out, delete bridge ``name`` if it is not there now: a runner made it (the engine's
    default ``wharf0``, podman's ``cni-podman0``) and leaves it behind when it stops."""
    if name not in host_bridges():
        stack.callback(subprocess.run, ["ip", "link", "del", name], capture_output=True, check=False)


def setup_engine(stack: contextlib.ExitStack, tmp: Path, image: Path, extra: Sequence[str] = ()) -> Path:
    engine = tool(VENV_BIN / "wharf-engine")
    if "--bridge" not in extra:
        remove_new_bridge(stack, "wharf0")  # the engine's default bridge stays after it stops
    sock = tmp / "engine.sock"
    argv = [engine, "--data-root", str(tmp / "root"), "-H", f"unix://{sock}"]
    argv += ["--pidfile", str(tmp / "engine.pid"), *extra]
    try:
        start_daemon(stack, "wharf-engine", argv, sock, tmp / "engine.log", os.environ)
    except Skip as exc:
        raise Skip(f"engine failed to start: {exc}") from exc
    import_image(sock, image)
    return sock


def podman_flags(tmp: Path, driver: str) -> list[str]:
    store = tmp / "podman"
    return [
        *("--root", str(store / "root"), "--runroot", str(store / "run"), "--tmpdir", str(store / "tmp")),
        *("--storage-driver", driver, "--cgroup-manager", "cgroupfs", "--events-backend", "file"),
        *("--runtime", "runc"),
    ]


def setup_podman(stack: contextlib.ExitStack, tmp: Path, image: Path) -> tuple[list[str], dict[str, str]]:
    """Import busybox into a private podman store (overlay, else vfs); return the podman argv and env."""
    podman = tool("podman")
    remove_new_bridge(stack, "cni-podman0")  # podman's default network, made at its first container
    conf = tmp / "containers.conf"  # the API service takes no --ulimit; give it the host-compatible defaults
    conf.write_text(f"[containers]\ndefault_ulimits = {json.dumps(list(ULIMITS))}\n")
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    errors: list[str] = []
    for driver in ("overlay", "vfs"):
        base = [podman, *podman_flags(tmp, driver)]
        stack.callback(unmount_under, tmp / "podman")
        stack.callback(subprocess.run, [*base, "rm", "-af", "-t", "0"], capture_output=True, check=False)
        try:
            run_checked([*base, "import", "--change", 'CMD ["sh"]', str(image), "busybox:latest"], env=env)
        except Skip as exc:
            errors.append(f"{driver}: {exc}")
            unmount_under(tmp / "podman")
            shutil.rmtree(tmp / "podman", ignore_errors=True)
            continue
        return base, env
    raise Skip("podman import failed: " + "; ".join(errors))
