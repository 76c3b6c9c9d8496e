"""``wharf-builder worker``: run builds from the queue (Celery on Redis)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wharf_common.logging import configure_logging

from .settings import Settings
from .worker import make_app


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="wharf-builder",
        description="Run wharf's automated builds. The rest comes from WHARF_BUILDER_* variables.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    w = sub.add_parser("worker", help="take builds from the queue and run them")
    w.add_argument("--broker-url", help="Redis URL (default redis://127.0.0.1:6379/0)")
    w.add_argument("--engine-host", help="the engine to build on (default unix:///run/wharf/engine.sock)")
    w.add_argument("--hub-url", help="the hub (default http://127.0.0.1:8080)")
    w.add_argument("--hub-secret-file", type=Path, help="the hub's builder secret")
    w.add_argument("--workdir", type=Path, help="where checkouts live (default /var/lib/wharf-builder)")
    w.add_argument("-c", "--concurrency", type=int, help="builds at a time (default 2)")
    w.add_argument("--build-timeout", type=int, help="seconds a build may take (default 3600)")
    w.add_argument("-n", "--hostname", default="builder@%h", help="the worker's name (default builder@%%h)")
    w.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    overrides = {
        key: value
        for key, value in {
            "broker_url": args.broker_url,
            "engine_host": args.engine_host,
            "hub_url": args.hub_url,
            "hub_secret_file": args.hub_secret_file,
            "workdir": args.workdir,
            "concurrency": args.concurrency,
            "build_timeout": args.build_timeout,
            "log_level": args.log_level,
        }.items()
        if value is not None
    }
    settings = Settings(**overrides)
    configure_logging(settings.log_level, json=settings.log_json)
    try:
        settings.secret()
    except (ValueError, OSError) as exc:
        raise SystemExit(f"wharf-builder: {exc}") from None
    settings.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    app = make_app(settings)
    app.worker_main(
        [
            "worker",
            "--hostname",
            args.hostname,
            "--concurrency",
            str(settings.concurrency),
            "--loglevel",
            settings.log_level.upper(),
            "--without-gossip",
            "--without-mingle",
        ]
    )


__all__ = ["main"]


if __name__ == "__main__":
    main()
