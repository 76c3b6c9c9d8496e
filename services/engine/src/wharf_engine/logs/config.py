"""HostConfig.LogConfig: the log drivers wharf has, their options, checked at create.

``json-file`` and ``local`` are both written by the shim as Docker's json-file lines (``local``
differs only in its defaults: 20 MB x 5 files, as Docker's); ``none`` keeps no log at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wharf_common.errors import InvalidArgument

from wharf_engine.shapes.containers import LogConfig

DRIVERS = ("json-file", "local", "none")
OPTIONS = {
    "json-file": {"max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag"},
    "local": {"max-size", "max-file", "compress"},
    "none": set(),
}
LOCAL_MAX_SIZE = 20 * 1024 * 1024
LOCAL_MAX_FILES = 5

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)b?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LogSettings:
    driver: str = "json-file"
    max_size: int = 0  # bytes; 0: the log grows without bound
    max_files: int = 1  # the live file and max_files - 1 rotated ones

    @property
    def readable(self) -> bool:
        return self.driver != "none"


def parse_size(value: str) -> int:
    """Docker's human sizes: ``100``, ``10k``, ``10m``, ``1.5g``, ``10MB`` (decimal), ``10MiB``."""
    found = _SIZE.match(value)
    if not found:
        raise InvalidArgument(f"invalid max-size {value!r}: use a size such as 10m or 512k")
    number, unit, binary = found.groups()
    base = 1024 if binary else 1000
    size = int(float(number) * base ** " kmgtp".index(unit.lower() or " "))
    if size <= 0:
        raise InvalidArgument("max-size must be a positive number")
    return size


def normalize(log_config: Any) -> LogConfig:
    """The LogConfig a container keeps, or a 400 naming what is wrong."""
    if log_config is None:
        log_config = {}
    if not isinstance(log_config, dict):
        raise InvalidArgument("HostConfig.LogConfig must be an object")
    driver = str(log_config.get("Type") or "json-file")
    if driver not in DRIVERS:
        raise InvalidArgument(
            f"logger: no log driver named '{driver}' is registered (wharf has {', '.join(DRIVERS)})"
        )
    config = log_config.get("Config") or {}
    if not isinstance(config, dict):
        raise InvalidArgument("HostConfig.LogConfig.Config must be an object of strings")
    config = {str(k): str(v) for k, v in config.items()}
    for key in config:
        if key not in OPTIONS[driver]:
            raise InvalidArgument(f"unknown log opt '{key}' for {driver} log driver")
    settings(driver, config)  # the values, checked
    return {"Type": driver, "Config": config}


def settings(driver: str, config: dict[str, str]) -> LogSettings:
    if driver not in DRIVERS:
        raise InvalidArgument(f"logger: no log driver named '{driver}' is registered")
    if driver == "none":
        return LogSettings(driver="none")
    local = driver == "local"
    max_size = parse_size(config["max-size"]) if "max-size" in config else (LOCAL_MAX_SIZE if local else 0)
    max_files = LOCAL_MAX_FILES if local else 1
    if "max-file" in config:
        raw = config["max-file"]
        if not raw.strip().isdigit() or int(raw) < 1:
            raise InvalidArgument(f"invalid max-file {raw!r}: max-file cannot be less than 1")
        max_files = int(raw)
    if config.get("compress", "false").lower() not in ("false", "0"):
        raise InvalidArgument("log opt compress is not supported here: rotated logs are kept uncompressed")
    return LogSettings(driver=driver, max_size=max_size, max_files=max_files)


def container_settings(host_config: Mapping[str, Any]) -> LogSettings:
    """What a created container's (already checked) LogConfig asks of its shim and readers."""
    log_config = host_config.get("LogConfig") or {}
    driver = str(log_config.get("Type") or "json-file")
    try:
        return settings(driver, {str(k): str(v) for k, v in (log_config.get("Config") or {}).items()})
    except InvalidArgument:  # kept from before these checks: log as json-file did then
        return LogSettings()
