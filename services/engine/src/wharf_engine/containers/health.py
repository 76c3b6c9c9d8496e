"""Healthchecks: the config a container runs (Docker's ``Config.Healthcheck``, merged over the
image's), and ``State.Health`` with its log, updated by each probe as Docker updates it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from wharf_common.errors import InvalidArgument

from wharf_engine.shapes.containers import Healthcheck

SECOND = 1_000_000_000
DEFAULT_INTERVAL = 30 * SECOND
DEFAULT_TIMEOUT = 30 * SECOND
DEFAULT_START_INTERVAL = 5 * SECOND
DEFAULT_RETRIES = 3
MIN_DURATION = 1_000_000  # 1 ms
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096

STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"
DURATIONS = ("Interval", "Timeout", "StartPeriod", "StartInterval")


@dataclass(frozen=True, slots=True)
class Probe:
    """What the engine runs, with Docker's defaults filled in (durations in seconds)."""

    argv: list[str]
    interval: float
    timeout: float
    start_period: float
    start_interval: float
    retries: int


def merge(image: Healthcheck | None, given: Healthcheck | None) -> Healthcheck | None:
    """The create request's healthcheck over the image's: an empty Test or a zero value inherits."""
    if not given:
        return image.copy() if image else None
    merged: dict[str, Any] = {**given}
    inherited: Mapping[str, Any] = image or {}
    for key in ("Test", *DURATIONS, "Retries"):
        if not merged.get(key) and inherited.get(key):
            merged[key] = inherited[key]
    return cast(Healthcheck, {k: v for k, v in merged.items() if v is not None})  # Healthcheck's keys


def validate(healthcheck: Healthcheck | None) -> None:
    """Docker's checks at create: durations 0 or at least 1 ms, retries not negative, a known test."""
    if not healthcheck:
        return
    values: Mapping[str, Any] = healthcheck  # read by the names in DURATIONS
    for key in DURATIONS:
        value = int(values.get(key) or 0)
        if value != 0 and value < MIN_DURATION:
            raise InvalidArgument(f"{key} in Healthcheck cannot be less than 1ms")
    if int(healthcheck.get("Retries") or 0) < 0:
        raise InvalidArgument("Retries in Healthcheck cannot be negative")
    test = healthcheck.get("Test") or []
    if test and test[0] not in ("NONE", "CMD", "CMD-SHELL"):
        raise InvalidArgument(f"unknown Healthcheck type {test[0]!r} (use CMD, CMD-SHELL or NONE)")
    if test and test[0] in ("CMD", "CMD-SHELL") and len(test) < 2:
        raise InvalidArgument(f"Healthcheck {test[0]} needs a command")


def probe(healthcheck: Healthcheck | None, shell: list[str] | None = None) -> Probe | None:
    """The probe to run, or None: no healthcheck, ``NONE``, or no test."""
    if not healthcheck:
        return None
    test = list(healthcheck.get("Test") or [])
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        argv = test[1:]
    elif test[0] == "CMD-SHELL":
        argv = [*(shell or ["/bin/sh", "-c"]), " ".join(test[1:])]
    else:
        return None

    values: Mapping[str, Any] = healthcheck

    def seconds(key: str, default: int) -> float:
        return int(values.get(key) or default) / SECOND

    return Probe(
        argv=argv,
        interval=seconds("Interval", DEFAULT_INTERVAL),
        timeout=seconds("Timeout", DEFAULT_TIMEOUT),
        start_period=seconds("StartPeriod", 0),
        start_interval=seconds("StartInterval", DEFAULT_START_INTERVAL),
        retries=int(healthcheck.get("Retries") or DEFAULT_RETRIES),
    )


def starting() -> dict[str, Any]:
    return {"Status": STARTING, "FailingStreak": 0, "Log": []}


def record(health: dict[str, Any], entry: dict[str, Any], *, retries: int, in_start_period: bool) -> str:
    """Add a probe's result to ``health`` (Docker's rules); the status it leaves."""
    health["Log"] = [*(health.get("Log") or []), entry][-MAX_LOG_ENTRIES:]
    if entry["ExitCode"] == 0:
        health["FailingStreak"] = 0
        health["Status"] = HEALTHY
    elif not (health["Status"] == STARTING and in_start_period):  # failures in the start period don't count
        health["FailingStreak"] = int(health.get("FailingStreak") or 0) + 1
        if health["FailingStreak"] >= retries:
            health["Status"] = UNHEALTHY
    return str(health["Status"])


def status_suffix(health: dict[str, Any] | None) -> str:
    """What ``docker ps`` shows after ``Up 5 seconds``."""
    if not health:
        return ""
    status = health.get("Status")
    return " (health: starting)" if status == STARTING else f" ({status})"
