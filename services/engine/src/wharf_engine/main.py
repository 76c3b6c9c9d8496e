"""``wharf-engine``: parse flags, configure logging, listen on every ``-H``, serve until signalled."""

from __future__ import annotations

import argparse
import os
import socket
import stat
import sys
from pathlib import Path

import structlog
from wharf_common.logging import configure_logging
from wharf_common.serving import serve, tcp_listener

from .api.hijack import HijackProtocol
from .app import create_app
from .idmap import RemapUnavailable
from .settings import Settings

log = structlog.get_logger(__name__)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="wharf-engine", description="Run the wharf engine daemon.")
    p.add_argument("-H", "--host", action="append", dest="hosts", help="unix:///path or tcp://127.0.0.1:2375")
    p.add_argument("--data-root", type=Path, help="root of persistent engine state")
    p.add_argument("--exec-root", type=Path, help="short directory for the shims' sockets")
    p.add_argument("-p", "--pidfile", type=Path)
    p.add_argument("--runtime", help="OCI runtime binary (default runc)")
    p.add_argument("--bridge", help="name of the default bridge (default wharf0)")
    p.add_argument("--subnet", help="the bridge's IPv4 subnet (default 172.30.0.0/16)")
    p.add_argument("--icc", choices=["true", "false"], help="inter-container communication on the bridge")
    p.add_argument("--masquerade", action="store_true", default=None, help="NAT containers' outbound traffic")
    p.add_argument(
        "--default-index", metavar="URL", help="the hub bare image names mean (default http://127.0.0.1:8080)"
    )
    p.add_argument(
        "--userns-remap", metavar="default|USER[:GROUP]", help="run containers in a user namespace"
    )
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    return p.parse_args(argv)


def listen(host: str) -> socket.socket:
    """A bound, listening socket for ``unix://path`` or ``tcp://addr:port``."""
    if host.startswith("unix://"):
        path = Path(host.removeprefix("unix://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and stat.S_ISSOCK(path.stat().st_mode):
            path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(path))
        path.chmod(0o660)
    elif host.startswith("tcp://"):
        addr, _, port = host.removeprefix("tcp://").rpartition(":")
        if addr not in ("127.0.0.1", "localhost", "::1", "[::1]"):
            raise SystemExit(
                f"refusing plain TCP on {addr}: TLS is not supported yet, listen on loopback only"
            )
        return tcp_listener(addr, int(port))
    else:
        raise SystemExit(f"unsupported host {host!r}: use unix:///path or tcp://127.0.0.1:PORT")
    sock.listen(128)
    return sock


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    overrides = {
        k: v
        for k, v in {
            "hosts": args.hosts,
            "data_root": args.data_root,
            "exec_root": args.exec_root,
            "pidfile": args.pidfile,
            "runtime": args.runtime,
            "bridge": args.bridge,
            "subnet": args.subnet,
            "icc": None if args.icc is None else args.icc == "true",
            "masquerade": args.masquerade,
            "log_level": args.log_level,
            "default_index": args.default_index,
            "userns_remap": args.userns_remap,
        }.items()
        if v is not None
    }
    settings = Settings(**overrides)
    configure_logging(settings.log_level, json=settings.log_json)
    if os.geteuid() != 0:
        raise SystemExit("wharf-engine must run as root (namespaces, mounts, runc)")
    sockets = [listen(h) for h in settings.hosts]
    # our socket files, by inode: a newer engine may have bound the same path by the time we exit
    owned = {Path(h.removeprefix("unix://")): Path(h.removeprefix("unix://")).stat().st_ino
             for h in settings.hosts if h.startswith("unix://")}  # fmt: skip
    try:
        app = create_app(settings)
    except RemapUnavailable as exc:
        for path in owned:
            path.unlink(missing_ok=True)
        raise SystemExit(f"wharf-engine: {exc}") from None
    log.info("engine.listening", hosts=settings.hosts, data_root=str(settings.data_root),
             default_index=settings.default_index)  # fmt: skip

    def forget_sockets() -> None:
        log.info("engine.stopped")
        for path, inode in owned.items():
            try:
                if path.stat().st_ino == inode:
                    path.unlink()
            except FileNotFoundError:
                pass

    serve(
        app, sockets, pidfile=settings.pidfile, cleanup=forget_sockets, http=HijackProtocol, lifespan="on",
        timeout_graceful_shutdown=2,
    )  # fmt: skip


if __name__ == "__main__":
    main()
