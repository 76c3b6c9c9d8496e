"""``wharf-registry``: serve the v1 registry, or ``wharf-registry adduser FILE USER``."""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from pathlib import Path

import structlog
from wharf_common import serving
from wharf_common.logging import configure_logging

from .access import add_user
from .app import create_app
from .settings import Settings

log = structlog.get_logger(__name__)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="wharf-registry",
        description="Run the wharf registry (Docker registry v1 API). "
        "Storage, auth and the rest come from WHARF_REGISTRY_* variables.",
        epilog="Add a user for Basic auth: wharf-registry adduser FILE USER (password on stdin).",
    )
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 5000; 0 picks a free one)")
    p.add_argument("--data-root", type=Path, help="filesystem storage root (default /var/lib/wharf-registry)")
    p.add_argument("--pidfile", type=Path)
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    return p.parse_args(argv)


def adduser(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="wharf-registry adduser", description="Add or replace a user.")
    p.add_argument("file", type=Path, help="the users file (WHARF_REGISTRY_AUTH__USERS_FILE)")
    p.add_argument("user")
    args = p.parse_args(argv)
    password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    try:
        add_user(args.file, args.user, password)
    except ValueError as exc:
        raise SystemExit(f"wharf-registry adduser: {exc}") from None


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(128)
    return sock


def serve(argv: list[str]) -> None:
    args = parse_args(argv)
    overrides = {
        k: v
        for k, v in {
            "host": args.host,
            "port": args.port,
            "data_root": args.data_root,
            "pidfile": args.pidfile,
            "log_level": args.log_level,
        }.items()
        if v is not None
    }
    settings = Settings(**overrides)
    configure_logging(settings.log_level, json=settings.log_json)
    sock = listen(settings.host, settings.port)
    app = create_app(settings)
    log.info(
        "registry.listening",
        host=settings.host,
        port=sock.getsockname()[1],
        storage=settings.storage.driver,
        auth=settings.auth.users_file is not None,
    )
    serving.serve(
        app, [sock], pidfile=settings.pidfile, cleanup=lambda: log.info("registry.stopped"), lifespan="off",
        timeout_graceful_shutdown=5,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["adduser"]:
        adduser(argv[1:])
    else:
        serve(argv)


if __name__ == "__main__":
    main()
