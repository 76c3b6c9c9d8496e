"""``wharf-registry``: serve the v1 registry; ``adduser FILE USER``; ``gc [--dry-run]``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

import structlog
from wharf_common import serving
from wharf_common.datadir import PRIVATE_UMASK, private_root
from wharf_common.logging import configure_logging

from .access import add_user
from .app import create_app
from .gc import DEFAULT_GRACE, GcRefused, collect
from .index_access import InvalidIndexKey
from .settings import Settings
from .storage import FilesystemStorageSettings, build_driver
from .v2.bearer import InvalidBearerKey

log = structlog.get_logger(__name__)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="wharf-registry",
        description="Run the wharf registry (Docker registry v1 API). "
        "Storage, auth and the rest come from WHARF_REGISTRY_* variables.",
        epilog="Add a user for Basic auth: wharf-registry adduser FILE USER (password on stdin). "
        "Remove images no tag reaches: wharf-registry gc [--dry-run] [--grace SECONDS].",
    )
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 5000; 0 picks a free one)")
    p.add_argument("--data-root", type=Path, help="filesystem storage root (default /var/lib/wharf-registry)")
    p.add_argument("--pidfile", type=Path)
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p.add_argument(
        "--index-public-key",
        type=Path,
        metavar="PATH",
        help="index mode: accept only tokens signed by this hub key (PEM, Ed25519; the hub "
        "writes <hub data root>/token-signing.pub.pem); default standalone",
    )
    p.add_argument(
        "--index-url",
        metavar="URL",
        help="index mode: the hub's address from here; the index calls engines send to this "
        "registry (login, push, pull of <this host>/ns/name) go on there",
    )
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


def gc(argv: list[str]) -> None:
    p = argparse.ArgumentParser(
        prog="wharf-registry gc",
        description="Remove the image objects no tag of any repository reaches (JSON, ancestry, layer, "
        "checksum, uploads), the v2 blobs no manifest references, expired v2 upload sessions "
        "and stale upload leftovers. Storage comes from the same WHARF_REGISTRY_* "
        "variables as the server; safe while it runs.",
    )
    p.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    p.add_argument("--data-root", type=Path, help="filesystem storage root (default /var/lib/wharf-registry)")
    p.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE,
        metavar="SECONDS",
        help="keep images with younger objects: pushes in flight (default 3600)",
    )
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default="warning")
    args = p.parse_args(argv)
    if args.grace < 0:
        p.error("--grace must be >= 0")
    settings = Settings(**({"data_root": args.data_root} if args.data_root is not None else {}))
    configure_logging(args.log_level, json=settings.log_json)
    storage = build_driver(settings.storage, settings.data_root)
    try:
        report = asyncio.run(
            collect(storage, grace=args.grace, dry_run=args.dry_run, upload_ttl=settings.v2.upload_ttl)
        )
    except GcRefused as exc:
        raise SystemExit(f"wharf-registry gc: {exc}") from None
    sys.stdout.write("".join(line + "\n" for line in report.lines()))
    sys.stdout.flush()


def serve(argv: list[str]) -> None:
    args = parse_args(argv)
    os.umask(PRIVATE_UMASK)
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
    index_flags = {"public_key": args.index_public_key, "url": args.index_url}
    index_flags = {k: v for k, v in index_flags.items() if v is not None}
    if index_flags:  # the flags over WHARF_REGISTRY_INDEX__PUBLIC_KEY and __URL
        settings = settings.model_copy(update={"index": settings.index.model_copy(update=index_flags)})
    configure_logging(settings.log_level, json=settings.log_json)
    if isinstance(settings.storage, FilesystemStorageSettings):
        private_root(settings.storage.root or settings.data_root)
    try:
        app = create_app(settings)
    except (InvalidIndexKey, InvalidBearerKey) as exc:
        raise SystemExit(f"wharf-registry: {exc}") from None
    sock = serving.tcp_listener(settings.host, settings.port)
    index_mode = settings.index.public_key is not None
    log.info(
        "registry.listening",
        host=settings.host,
        port=sock.getsockname()[1],
        storage=settings.storage.driver,
        mode="index" if index_mode else "standalone",
        auth="index tokens" if index_mode else "basic" if settings.auth.users_file is not None else "open",
    )
    from .serving import ZeroCopyHttpToolsProtocol, keep_freed_memory  # imports uvicorn: only when serving

    keep_freed_memory()

    serving.serve(
        app,
        [sock],
        pidfile=settings.pidfile,
        cleanup=lambda: log.info("registry.stopped"),
        lifespan="off",
        timeout_graceful_shutdown=5,
        http=ZeroCopyHttpToolsProtocol,
    )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["adduser"]:
        adduser(argv[1:])
    elif argv[:1] == ["gc"]:
        gc(argv[1:])
    else:
        serve(argv)


if __name__ == "__main__":
    main()
