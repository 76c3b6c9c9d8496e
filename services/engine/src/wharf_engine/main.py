"""``wharf-engine``: parse flags, configure logging, listen on every ``-H``, serve until signalled."""

from __future__ import annotations

import argparse
import grp
import os
import socket
import stat
import sys
from pathlib import Path
from typing import Any

import structlog
from wharf_common.logging import configure_logging
from wharf_common.serving import serve, tcp_listener

from . import certs
from .api.hijack import HijackProtocol
from .app import create_app
from .idmap import RemapUnavailable
from .settings import Settings

log = structlog.get_logger(__name__)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="wharf-engine",
        description="Run the wharf engine daemon.",
        epilog="TLS certificates: wharf-engine certs --help",
    )
    p.add_argument("-H", "--host", action="append", dest="hosts", help="unix:///path or tcp://127.0.0.1:2375")
    p.add_argument("--data-root", type=Path, help="root of persistent engine state")
    p.add_argument("--exec-root", type=Path, help="short directory for the shims' sockets")
    p.add_argument("-p", "--pidfile", type=Path)
    p.add_argument("--runtime", help="OCI runtime binary (default runc)")
    p.add_argument("--bridge", help="name of the default bridge (default wharf0)")
    p.add_argument("--subnet", help="the bridge's IPv4 subnet (default 172.30.0.0/16)")
    p.add_argument("--icc", choices=["true", "false"], help="inter-container communication on the bridge")
    p.add_argument(
        "--default-address-pool",
        action="append",
        dest="address_pools",
        metavar="base=CIDR,size=N",
        help="where user networks' subnets come from (repeatable; default Docker's)",
    )
    p.add_argument("--masquerade", action="store_true", default=None, help="NAT containers' outbound traffic")
    p.add_argument(
        "--default-index", metavar="URL", help="the hub bare image names mean (default http://127.0.0.1:8080)"
    )
    p.add_argument(
        "--userns-remap", metavar="default|USER[:GROUP]", help="run containers in a user namespace"
    )
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p.add_argument("-G", "--group", help="group owning the unix sockets (default wharf, if it exists)")
    p.add_argument(
        "--tls", action="store_true", default=None, help="serve TCP over TLS; implied by --tlsverify"
    )
    p.add_argument(
        "--tlsverify", action="store_true", default=None, help="TLS, and refuse clients the CA did not sign"
    )
    p.add_argument("--tlscacert", type=Path, help="trust client certificates signed by this CA only")
    p.add_argument("--tlscert", type=Path, help="the server's certificate (default ~/.wharf/server-cert.pem)")
    p.add_argument("--tlskey", type=Path, help="the server's key (default ~/.wharf/server-key.pem)")
    p.add_argument(
        "--insecure-tcp", action="store_true", default=None, help="allow plain TCP beyond loopback"
    )
    p.add_argument(
        "--allowed-hostname",
        action="append",
        dest="allowed_hostnames",
        metavar="NAME",
        help="a Host name TCP clients may use (repeatable)",
    )
    return p.parse_args(argv)


def parse_pools(values: list[str] | None) -> list[dict[str, Any]] | None:
    """``--default-address-pool base=10.10.0.0/16,size=24`` (dockerd's syntax), repeatable."""
    if not values:
        return None
    pools = []
    for value in values:
        fields = dict(item.partition("=")[::2] for item in value.split(","))
        if set(fields) != {"base", "size"} or not fields["size"].isdigit():
            raise SystemExit(f"invalid --default-address-pool {value!r}: base=CIDR,size=N")
        pools.append({"base": fields["base"], "size": int(fields["size"])})
    return pools


def socket_group(name: str | None) -> int:
    """The gid owning unix sockets: ``--group``, else ``wharf`` if it exists, else root (0)."""
    try:
        return grp.getgrnam(name or "wharf").gr_gid
    except KeyError:
        if name:
            raise SystemExit(f"group {name!r} not found (--group)") from None
        return 0


def listen(host: str, settings: Settings, gid: int = 0) -> socket.socket:
    """A bound, listening socket for ``unix://path`` (mode 0660, group ``gid``) or ``tcp://addr:port``."""
    if host.startswith("unix://"):
        path = Path(host.removeprefix("unix://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and stat.S_ISSOCK(path.stat().st_mode):
            path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(path))
        os.chown(path, 0, gid)
        path.chmod(0o660)
    elif host.startswith("tcp://"):
        rest = host.removeprefix("tcp://")
        addr, _, port = rest.rpartition(":")
        if rest.endswith("]") or not port.isdigit():  # tcp://HOST: Docker's ports, 2376 with TLS
            addr, port = rest, "2376" if settings.tls_enabled else "2375"
        loopback = addr in ("127.0.0.1", "localhost", "::1", "[::1]")
        if not loopback and not settings.tlsverify:
            if not settings.tls and not settings.insecure_tcp:
                raise SystemExit(
                    f"refusing plain TCP on {addr}: anyone who reaches it is root. Use "
                    "--tlsverify (see wharf-engine certs) or --insecure-tcp"
                )
            log.warning(
                "engine.tcp_unauthenticated",
                address=f"{addr}:{port}",
                tls=settings.tls,
                warning="any client that reaches this address has root on this host",
            )
        return tcp_listener(addr, int(port))
    else:
        raise SystemExit(f"unsupported host {host!r}: use unix:///path or tcp://127.0.0.1:PORT")
    sock.listen(128)
    return sock


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["certs"]:
        certs.main(argv[1:])
        return
    args = parse_args(argv)
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
            "default_address_pools": parse_pools(args.address_pools),
            "log_level": args.log_level,
            "default_index": args.default_index,
            "userns_remap": args.userns_remap,
            "group": args.group,
            "tls": args.tls,
            "tlsverify": args.tlsverify,
            "tlscacert": args.tlscacert,
            "tlscert": args.tlscert,
            "tlskey": args.tlskey,
            "insecure_tcp": args.insecure_tcp,
            "allowed_hostnames": args.allowed_hostnames,
        }.items()
        if v is not None
    }
    settings = Settings(**overrides)
    configure_logging(settings.log_level, json=settings.log_json)
    if os.geteuid() != 0:
        raise SystemExit("wharf-engine must run as root (namespaces, mounts, runc)")
    tls = None
    if settings.tls_enabled and any(h.startswith("tcp://") for h in settings.hosts):
        tls = certs.server_context(
            settings.tlscacert, settings.tlscert, settings.tlskey, verify=settings.tlsverify
        )
    gid = socket_group(settings.group)
    sockets = [listen(h, settings, gid) for h in settings.hosts]
    # our socket files, by inode: a newer engine may have bound the same path by the time we exit
    owned = {
        Path(h.removeprefix("unix://")): Path(h.removeprefix("unix://")).stat().st_ino
        for h in settings.hosts
        if h.startswith("unix://")
    }
    try:
        app = create_app(settings)
    except RemapUnavailable as exc:
        for path in owned:
            path.unlink(missing_ok=True)
        raise SystemExit(f"wharf-engine: {exc}") from None
    log.info(
        "engine.listening",
        hosts=settings.hosts,
        data_root=str(settings.data_root),
        default_index=settings.default_index,
    )

    def forget_sockets() -> None:
        log.info("engine.stopped")
        for path, inode in owned.items():
            try:
                if path.stat().st_ino == inode:
                    path.unlink()
            except FileNotFoundError:
                pass

    serve(
        app,
        sockets,
        pidfile=settings.pidfile,
        cleanup=forget_sockets,
        http=HijackProtocol,
        lifespan="on",
        timeout_graceful_shutdown=2,
        tls=tls,
    )


if __name__ == "__main__":
    main()
