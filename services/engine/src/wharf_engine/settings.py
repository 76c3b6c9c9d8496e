"""Engine settings: env vars ``WHARF_ENGINE_*``, overridden by command-line flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .network.pool import DEFAULT_POOLS
from .network.upstreams import Upstream

API_VERSION = "1.45"
MIN_API_VERSION = "1.24"
ENGINE_VERSION = "0.1.0"


class AddressPoolSetting(BaseModel):
    """One of ``default_address_pools``: ``{"base": "172.17.0.0/12", "size": 16}``."""

    base: str
    size: int

    @field_validator("size")
    @classmethod
    def _size(cls, value: int) -> int:
        if not 1 <= value <= 30:
            raise ValueError("size must be 1-30")
        return value


class Settings(BaseSettings):
    """Everything an engine process needs to know; built once in ``main.py``."""

    model_config = SettingsConfigDict(env_prefix="WHARF_ENGINE_", env_nested_delimiter="__")

    hosts: list[str] = Field(default_factory=lambda: ["unix:///run/wharf/engine.sock"])
    data_root: Path = Path("/var/lib/wharf")
    exec_root: Path | None = None  # short path for sockets; default <data_root>/run
    pidfile: Path | None = None
    runtime: str = "runc"
    log_level: str = "info"
    log_json: bool = False
    default_index: str = "http://127.0.0.1:8080"
    """The hub (v1 index) that bare names (``busybox``, ``alice/web``) and ``docker.io/…`` mean:
    a URL, or ``host[:port]`` spoken to over HTTP when listed in ``insecure_registries``."""
    stop_timeout: int = 10
    bridge: str = "wharf0"  # tests give every engine its own bridge and subnet
    subnet: str = "172.30.0.0/16"
    icc: bool = True  # containers on the bridge may talk to each other (--icc=false isolates them)
    masquerade: bool = False  # outbound NAT from the bridge; off by default and in every test
    dns_upstreams: list[str] = Field(default_factory=list)
    """Where the engine's DNS server on user networks sends names it does not own (``ip`` or
    ``ip:port``); empty: the host's resolv.conf nameservers. A container's ``--dns`` servers win."""
    dns_timeout: float = Field(default=2.0, gt=0, le=30)
    """Seconds the upstreams get for one query before the container is answered SERVFAIL."""
    dns_max_inflight: int = Field(default=256, ge=1)
    """Queries being answered at once (UDP beyond it is dropped: the client asks again)."""
    default_address_pools: list[AddressPoolSetting] = Field(
        default_factory=lambda: [AddressPoolSetting(base=b, size=s) for b, s in DEFAULT_POOLS]
    )
    """Where user networks' subnets come from (``docker network create`` without ``--subnet``): blocks of
    ``size`` bits out of ``base``, the first one that overlaps no host route or address and no other
    network (tests give each engine a pool of its own)."""
    insecure_registries: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "localhost"])
    """Registries spoken to over plain HTTP: CIDRs (``10.0.0.0/8``) or ``host[:port]`` names."""
    v1_registries: list[str] = Field(default_factory=list)
    """Registries never asked ``GET /v2/`` (CIDRs or ``host[:port]``): pulls and pushes use v1."""
    ca_bundle: Path | None = None  # CA certificates for HTTPS registries; default: the system's
    userns_remap: str = ""
    """``default`` or ``USER[:GROUP]``: every container's root is that user's subordinate ids on the
    host (a user namespace), unless run with ``--userns=host``; empty: containers share the host's ids."""
    userns_remap_idmapped: bool = True
    """Remapped roots from idmapped layers when the kernel can; false (or when it cannot): layers
    are chowned once at unpack, under ``<data-root>/<uid>.<gid>``, as dockerd does."""
    max_body_bytes: int = 16 << 20
    """Largest request body buffered whole (JSON: container and exec configs, auth); 413 above."""
    max_upload_bytes: int | None = 64 << 30
    """Largest streamed body (build context, ``docker load``/import, archive PUT); ``None``: no limit."""
    layer_max_bytes: int = 64 << 30
    """Most file data one archive may expand to (a layer pulled, loaded or imported, a build
    context, ``ADD`` of a tar, ``docker cp``); holes of sparse files do not count."""
    layer_max_files: int = 1_000_000
    """Most entries one such archive may hold."""
    # TCP listeners (Docker's "Protect the Docker daemon socket"): TLS files default to
    # ~/.wharf/{ca,server-cert,server-key}.pem (~/.docker when only that has a ca.pem)
    tls: bool = False  # TLS on TCP listeners, any client accepted
    tlsverify: bool = False  # TLS, and only clients with a certificate the CA signed
    tlscacert: Path | None = None
    tlscert: Path | None = None
    tlskey: Path | None = None
    insecure_tcp: bool = False  # plain TCP on a non-loopback address: root for whoever reaches it
    allowed_hostnames: list[str] = Field(default_factory=list)
    """``Host`` names TCP clients may use besides loopback, the -H addresses and the certificate's."""
    group: str | None = None  # owns unix sockets (0660); default "wharf" if it exists, else root

    @field_validator("dns_upstreams")
    @classmethod
    def _dns_upstreams(cls, value: list[str]) -> list[str]:
        for item in value:
            Upstream.parse(item)  # ValueError names the bad one
        return value

    @field_validator("default_index")
    @classmethod
    def _index_url(cls, value: str) -> str:
        scheme, _, rest = value.strip().rpartition("://")
        rest = rest.rstrip("/").removesuffix("/v1").rstrip("/")
        if scheme not in ("", "http", "https") or not rest or "/" in rest or " " in rest:
            raise ValueError(f"default index must be http(s)://host[:port] or host[:port], not {value!r}")
        return f"{scheme}://{rest}" if scheme else rest

    @property
    def tls_enabled(self) -> bool:
        return self.tls or self.tlsverify

    @property
    def run_dir(self) -> Path:
        return self.exec_root if self.exec_root is not None else self.data_root / "run"
