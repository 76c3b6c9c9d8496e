"""``wharf-hub``: serve the hub; ``migrate``; ``bootstrap``; ``create-user NAME``; ``worker``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import structlog
from wharf_common import prefork, serving
from wharf_common.datadir import PRIVATE_UMASK, private_root
from wharf_common.logging import configure_logging

from .app import build_hub, create_app
from .db import migrate
from .settings import Settings

log = structlog.get_logger(__name__)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-root", type=Path, help="keys, outbox, SQLite database (default /var/lib/wharf-hub)"
    )
    p.add_argument("--database-url", help="SQLAlchemy URL (default sqlite:///<data root>/hub.db)")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    names = [
        "host",
        "port",
        "workers",
        "data_root",
        "database_url",
        "public_url",
        "registry_url",
        "pidfile",
        "log_level",
    ]
    overrides = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    if getattr(args, "registry_endpoint", None):
        overrides["registry_endpoints"] = args.registry_endpoint
    if getattr(args, "no_worker", False):
        overrides["webhooks"] = {"worker": False}
    settings = Settings(**{**overrides, **extra})
    private_root(settings.data_root)
    return settings


def _fast_event_loop() -> None:
    """uvloop under uvicorn: ``serving.serve`` runs ``asyncio.run``, which bypasses uvicorn's own
    ``loop="auto"`` choice, so without this the hub served on asyncio's pure-Python selector loop
    (its callbacks, the thread pool's wake-ups and every socket write in Python: about a third of
    a cached search's CPU)."""
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def serve(argv: list[str]) -> None:
    p = argparse.ArgumentParser(
        prog="wharf-hub",
        description="Run the wharf hub: web pages, JSON API and "
        "the v1 index. Everything else comes from WHARF_HUB_* variables.",
        epilog="Subcommands: migrate, create-user NAME, worker.",
    )
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 8080; 0 picks a free one)")
    p.add_argument("--public-url", help="how people reach the hub (default http://host:port)")
    p.add_argument("--registry-url", help="where the hub reads tags (default http://127.0.0.1:5000)")
    p.add_argument("--registry-endpoint", action="append", help="X-Docker-Endpoints entry (repeatable)")
    p.add_argument("--no-worker", action="store_true", help="deliver webhooks from `wharf-hub worker` only")
    p.add_argument("--workers", type=int, help="processes serving the port (default 1)")
    p.add_argument("--pidfile", type=Path)
    _common(p)
    args = p.parse_args(argv)
    defaults = Settings()
    sock = serving.tcp_listener(
        args.host or defaults.host, defaults.port if args.port is None else args.port, 256
    )
    port = sock.getsockname()[1]
    settings = _settings(args, **({"port": port} if args.port == 0 else {}))
    configure_logging(settings.log_level, json=settings.log_json)
    migrate.upgrade(settings.database)
    if settings.workers > 1:  # keys and secrets made once, here, before the workers race for them
        build_hub(settings).db.dispose()
    log.info(
        "hub.listening",
        host=settings.host,
        port=port,
        database=settings.database.split("@")[-1],
        public_key=str(settings.public_key_path),
        workers=settings.workers,
    )
    _fast_event_loop()
    prefork.serve_workers(
        lambda: create_app(settings),
        [sock],
        settings.workers,
        pidfile=settings.pidfile,
        cleanup=lambda: log.info("hub.stopped"),
        timeout_graceful_shutdown=5,
        proxy_headers=False,  # X-Forwarded-For is read only from settings.trusted_proxies
    )


def migrate_command(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="wharf-hub migrate", description="Apply every database migration.")
    _common(p)
    settings = _settings(p.parse_args(argv))
    configure_logging(settings.log_level or "warning", json=settings.log_json)
    migrate.upgrade(settings.database)


def create_user(argv: list[str]) -> None:
    p = argparse.ArgumentParser(
        prog="wharf-hub create-user", description="Create an active account (password on stdin)."
    )
    p.add_argument("username")
    p.add_argument("--email", required=True)
    p.add_argument("--admin", action="store_true")
    _common(p)
    args = p.parse_args(argv)
    settings = _settings(args)
    configure_logging(args.log_level or "warning", json=settings.log_json)
    password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    migrate.upgrade(settings.database)
    hub = build_hub(settings)
    try:
        with hub.db.session() as s:
            hub.accounts.create_user(s, args.username, args.email, password, active=True, admin=args.admin)
    except Exception as exc:
        raise SystemExit(f"wharf-hub create-user: {exc}") from None
    finally:
        hub.db.dispose()


def bootstrap(argv: list[str]) -> None:
    """On a hub with no administrator: create one with a random password, print it once and keep
    it (mode 0600) in ``<data root>/initial-admin.json`` for the scripts that seed images."""
    p = argparse.ArgumentParser(
        prog="wharf-hub bootstrap", description="Migrate, and create the first admin."
    )
    p.add_argument("--username", default="admin")
    p.add_argument("--email", default="admin@localhost.localdomain")
    _common(p)
    args = p.parse_args(argv)
    settings = _settings(args)
    configure_logging(args.log_level or "warning", json=settings.log_json)
    migrate.upgrade(settings.database)
    hub = build_hub(settings)
    record = settings.data_root / "initial-admin.json"
    try:
        with hub.db.session() as s:
            if hub.accounts.has_admin(s):
                if record.exists():
                    sys.stdout.write(f"wharf hub: administrator exists; its first password is in {record}\n")
                return
            password = secrets.token_urlsafe(15)
            hub.accounts.create_user(
                s, args.username, args.email, password, active=True, admin=True, allow_reserved=True
            )
        fd = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"username": args.username, "password": password}, f)
        sys.stdout.write(
            "wharf hub: created the first administrator\n"
            f"  username: {args.username}\n  password: {password}\n"
            f"  (kept in {record}; change it on {settings.url}/account)\n"
        )
    finally:
        hub.db.dispose()


def worker(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="wharf-hub worker", description="Deliver webhooks and sync pushed tags.")
    p.add_argument("--once", action="store_true", help="run what is due, then exit")
    p.add_argument("--registry-url")
    _common(p)
    args = p.parse_args(argv)
    settings = _settings(args)
    configure_logging(settings.log_level, json=settings.log_json)
    hub = build_hub(settings)
    with hub.unit() as s:
        hub.builder.ensure_reaper(s)
    if args.once:
        hub.worker.drain()
    else:
        hub.worker.run_forever()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    os.umask(PRIVATE_UMASK)
    commands = {
        "migrate": migrate_command,
        "create-user": create_user,
        "worker": worker,
        "bootstrap": bootstrap,
    }
    command = commands.get(argv[0]) if argv else None
    if command is not None:
        command(argv[1:])
    else:
        serve(argv)


if __name__ == "__main__":
    main()
