"""containers.health: merging over the image's, Docker's checks, and the status rules."""

from __future__ import annotations

from typing import Any

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.containers import health
from wharf_engine.shapes.containers import Healthcheck

S = health.SECOND


def test_merge_inherits_empty_test_and_zero_values_from_the_image() -> None:
    image: Healthcheck = {"Test": ["CMD", "x"], "Interval": 2 * S, "Retries": 5}
    assert health.merge(image, None) == image
    assert health.merge(None, None) is None
    assert health.merge(image, {"Test": [], "Timeout": S}) == {
        "Test": ["CMD", "x"],
        "Interval": 2 * S,
        "Retries": 5,
        "Timeout": S,
    }
    assert health.merge(image, {"Test": ["NONE"]})["Test"] == ["NONE"]  # type: ignore[index]


@pytest.mark.parametrize(
    "check",
    [
        {"Interval": 10},
        {"Timeout": 999_999},
        {"StartPeriod": 1},
        {"StartInterval": 5},
        {"Retries": -1},
        {"Test": ["SHELL", "x"]},
        {"Test": ["CMD"]},
    ],
)
def test_validate_refuses_what_docker_refuses(check: Healthcheck) -> None:
    with pytest.raises(InvalidArgument):
        health.validate({"Test": ["CMD", "true"], **check})


def test_probe_defaults_and_shell_form() -> None:
    probe = health.probe({"Test": ["CMD-SHELL", "curl -f x || exit 1"]})
    assert probe == health.Probe(["/bin/sh", "-c", "curl -f x || exit 1"], 30.0, 30.0, 0.0, 5.0, 3)
    assert health.probe({"Test": ["NONE"]}) is None and health.probe({"Test": []}) is None
    assert health.probe({"Test": ["CMD", "a", "b"], "Interval": S // 2}) == health.Probe(
        ["a", "b"], 0.5, 30.0, 0.0, 5.0, 3
    )


def _entry(code: int) -> dict[str, Any]:
    return {"Start": "", "End": "", "ExitCode": code, "Output": ""}


def test_record_counts_failures_to_unhealthy_and_keeps_five_entries() -> None:
    state = health.starting()
    assert health.record(state, _entry(1), retries=2, in_start_period=True) == "starting"
    assert state["FailingStreak"] == 0  # the start period forgives
    assert health.record(state, _entry(1), retries=2, in_start_period=False) == "starting"
    assert health.record(state, _entry(1), retries=2, in_start_period=False) == "unhealthy"
    assert health.record(state, _entry(0), retries=2, in_start_period=False) == "healthy"
    assert state["FailingStreak"] == 0
    for _ in range(4):
        health.record(state, _entry(0), retries=2, in_start_period=False)
    assert len(state["Log"]) == 5
    assert health.status_suffix(state) == " (healthy)"
    assert health.status_suffix(health.starting()) == " (health: starting)"
    assert health.status_suffix(None) == ""
