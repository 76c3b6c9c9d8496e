"""bench/goals.py against run directories made from a real run's JSON (``fixtures/run``, trimmed),
changed case by case: what the goals table says when a figure meets its goal, misses it, or is missing."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

GOALS_PY = Path(__file__).resolve().parents[1] / "goals.py"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run"

if TYPE_CHECKING:
    from bench import goals
else:  # bench/ is a directory of scripts, not a package: load goals.py by path
    _spec = importlib.util.spec_from_file_location("goals", GOALS_PY)
    goals = importlib.util.module_from_spec(_spec)
    sys.modules["goals"] = goals
    _spec.loader.exec_module(goals)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    root = tmp_path / "20261207-230000"
    shutil.copytree(FIXTURE, root)
    return root


def edit(root: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / f"{name}.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def by_case(root: Path) -> dict[str, goals.Goal]:
    return {g.case: g for g in goals.evaluate(goals.Run(root))}


def script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(GOALS_PY), *args], capture_output=True, text=True, check=False)


def hub_case(doc: dict[str, Any], backend: str, endpoint: str, width: int) -> dict[str, Any]:
    return next(
        r
        for r in doc["rps"]
        if (r["backend"], r["endpoint"], r["concurrency"], r["mode"])
        == (backend, endpoint, width, "keep-alive")
    )


def test_full_run_prints_every_goal_with_figure_floor_and_verdict(run_dir: Path) -> None:
    done = script(str(run_dir))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for case, _, _ in goals.GOALS:
        assert any(line.startswith(case) for line in lines), case
    cells = {c[0]: c[1:] for c in (re.split(r"\s{2,}", line) for line in lines[2:-1])}
    assert cells["hub search q=web n=25, 1 conn (SQLite)"] == [
        "151 req/s",
        "/v1/_ping 2,252 req/s",
        ">= 1,000 req/s",
        "not met",
    ]
    assert cells["hub token endpoint, 16 conns (PostgreSQL)"][0] == "62 req/s, p99 362.8 ms"
    assert cells["wharf run --rm busybox true"] == [
        "991.4 ms",
        "docker CLI 287.5 ms",
        "<= the docker CLI",
        "not met",
    ]
    assert cells["wharf ps"] == ["584.1 ms", "python -c pass 33.4 ms", "<= 40 ms", "not met"]
    assert cells["webhook, push end -> receipt"] == ["2.8 ms", "-", "<= 15 ms", "met"]
    assert cells["registry push, 100 MiB layer via the engine"][:2] == [
        "35.4 MiB/s",
        "cp of the layer files 129 MiB/s",
    ]
    assert cells["hub token path, 2 processes vs 1"][:2] == ["0.72x (60 req/s)", "1 process 82 req/s"]
    assert cells["shim RSS per container"] == ["11.7 MiB", "max of 10 containers", "<= 10 MiB", "not met"]
    assert cells["engine RSS, idle"] == ["78.0 MiB", "-", "<= 80 MiB", "met"]
    assert cells["docker run over tcp+tlsverify (#11)"] == [
        "349.4 ms, 1.22x",
        "unix socket 287.5 ms",
        "< 1.10x the unix socket",
        "not met",
    ]
    assert lines[-1] == "2 met, 10 not met, 0 not measured, of 12"


def test_goal_is_met_when_the_figure_reaches_it(run_dir: Path) -> None:
    def faster(doc: dict[str, Any]) -> None:
        hub_case(doc, "sqlite", "search", 1)["rps"] = 1000.0
        hub_case(doc, "postgresql", "token", 16).update(rps=1500.0, p99_ms=49.9)

    edit(run_dir, "hub_bench", faster)
    edit(run_dir, "hub_scale_bench", lambda d: d.update({"1:token": 100.0, "2:token": 170.0}))
    goal = by_case(run_dir)
    assert goal["hub search q=web n=25, 1 conn (SQLite)"].result == "met"
    assert goal["hub token endpoint, 16 conns (PostgreSQL)"].result == "met"
    assert goal["hub token path, 2 processes vs 1"].result == "met"


def test_token_goal_is_not_met_when_p99_is_too_slow_despite_the_rate(run_dir: Path) -> None:
    edit(run_dir, "hub_bench", lambda d: hub_case(d, "sqlite", "token", 16).update(rps=5000.0, p99_ms=50.0))
    goal = by_case(run_dir)["hub token endpoint, 16 conns (SQLite)"]
    assert (goal.measured, goal.result) == ("5,000 req/s, p99 50.0 ms", "not met")


def test_empty_run_says_every_goal_was_not_measured_and_exits_0(tmp_path: Path) -> None:
    done = script(str(tmp_path))
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1] == "0 met, 0 not met, 12 not measured, of 12"
    assert (
        f"not measured: bench/hub_bench.py was not run (no hub_bench.json in {tmp_path.name})" in done.stdout
    )


def test_bench_that_wrote_no_json_is_explained_by_its_last_output_line(run_dir: Path) -> None:
    (run_dir / "hub_scale_bench.json").unlink()
    (run_dir / "hub_scale_bench.exit").write_text("0\n")
    (run_dir / "hub_scale_bench.log").write_text(
        "hub processes: skipped (PostgreSQL binaries are not installed)\n"
    )
    goal = by_case(run_dir)["hub token path, 2 processes vs 1"]
    assert goal.result == (
        "not measured: bench/hub_scale_bench.py wrote no hub_scale_bench.json: "
        "hub processes: skipped (PostgreSQL binaries are not installed)"
    )


def test_bench_that_failed_is_reported_with_its_exit_status(run_dir: Path) -> None:
    (run_dir / "registry_bench.json").unlink()
    (run_dir / "registry_bench.exit").write_text("1\n")
    (run_dir / "registry_bench.log").write_text("Traceback (most recent call last):\nKeyError: 'rows'\n")
    goal = by_case(run_dir)["registry push, 100 MiB layer via the engine"]
    assert goal.result == "not measured: bench/registry_bench.py exited 1: KeyError: 'rows'"


def test_skipped_case_gives_the_bench_reason(run_dir: Path) -> None:
    def no_tls(doc: dict[str, Any]) -> None:
        case = next(c for c in doc["cases"] if c["key"] == "docker-wharf-tls")
        case.update(median_ms=None, samples_ms=[], skipped="no TLS certificates: certs init exited 1")

    edit(run_dir, "bench", no_tls)
    goal = by_case(run_dir)["docker run over tcp+tlsverify (#11)"]
    assert goal.result == "not measured: docker-wharf-tls: no TLS certificates: certs init exited 1"
    assert goal.measured == "-"


def test_missing_postgresql_rows_are_explained_by_the_bench_note(run_dir: Path) -> None:
    def sqlite_only(doc: dict[str, Any]) -> None:
        doc["rps"] = [r for r in doc["rps"] if r["backend"] == "sqlite"]
        doc["notes"] = ["PostgreSQL skipped: initdb/pg_ctl not installed"]

    edit(run_dir, "hub_bench", sqlite_only)
    goal = by_case(run_dir)
    want = "not measured: PostgreSQL skipped: initdb/pg_ctl not installed"
    assert goal["hub search q=web n=25, 1 conn (PostgreSQL)"].result == want
    assert goal["hub token endpoint, 16 conns (PostgreSQL)"].result == want
    assert goal["hub search q=web n=25, 1 conn (SQLite)"].result == "not met"


def test_cli_bench_figures_are_preferred_to_bench_py_when_it_ran(run_dir: Path) -> None:
    rows = [  # cli_bench.py's shape
        {"key": "python", "median_ms": 16.0, "skipped": None},
        {"key": "wharf-ps", "median_ms": 39.0, "skipped": None},
        {"key": "docker-ps", "median_ms": 45.0, "skipped": None},
        {"key": "wharf-run", "median_ms": 80.0, "skipped": None},
        {"key": "docker-run", "median_ms": 90.0, "skipped": None},
    ]
    (run_dir / "cli_bench.json").write_text(json.dumps({"rows": rows}))
    goal = by_case(run_dir)
    assert (goal["wharf run --rm busybox true"].measured, goal["wharf run --rm busybox true"].result) == (
        "80.0 ms",
        "met",
    )
    assert goal["wharf run --rm busybox true"].floor == "docker CLI 90.0 ms"
    assert (goal["wharf ps"].measured, goal["wharf ps"].floor, goal["wharf ps"].result) == (
        "39.0 ms",
        "python -c pass 16.0 ms",
        "met",
    )


def test_cli_bench_without_its_peer_is_not_measured_rather_than_mixed_with_another_run(run_dir: Path) -> None:
    (run_dir / "cli_bench.json").write_text(json.dumps({"cases": [{"key": "wharf-run", "median_ms": 80.0}]}))
    goal = by_case(run_dir)["wharf run --rm busybox true"]
    assert goal.result == "not measured: no case docker-run or docker-wharf in cli_bench.json"


def test_registry_row_missing_is_named(run_dir: Path) -> None:
    edit(run_dir, "registry_bench", lambda d: d.update(rows=[r for r in d["rows"] if r["key"] != "push-big"]))
    goal = by_case(run_dir)["registry push, 100 MiB layer via the engine"]
    assert goal.result == "not measured: no row push-big in registry_bench.json"


def test_registry_that_stopped_gives_its_note(run_dir: Path) -> None:
    edit(run_dir, "registry_bench", lambda d: d.update(rows=[], notes=["stopped: skopeo not found"]))
    goal = by_case(run_dir)["registry push, 100 MiB layer via the engine"]
    assert goal.result == "not measured: stopped: skopeo not found"


def test_null_figure_is_not_measured(run_dir: Path) -> None:
    edit(run_dir, "hub_scale_bench", lambda d: d.update({"2:token": None}))
    assert (
        by_case(run_dir)["hub token path, 2 processes vs 1"].result == "not measured: no figure for 2:token"
    )


def test_no_shims_measured_gives_the_bench_error(run_dir: Path) -> None:
    edit(run_dir, "memory_bench", lambda d: d["shims"].update(rss=[], error="not reached"))
    assert by_case(run_dir)["shim RSS per container"].result == "not measured: no shim measured: not reached"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{", "memory_bench.json is not readable JSON: "),
        ("[1, 2]", "memory_bench.json holds a list, not an object"),
    ],
)
def test_malformed_json_is_not_measured(run_dir: Path, text: str, why: str) -> None:
    (run_dir / "memory_bench.json").write_text(text)
    assert by_case(run_dir)["engine RSS, idle"].result.startswith(f"not measured: {why}")


def test_long_reason_is_cut(run_dir: Path) -> None:
    edit(run_dir, "hub_bench", lambda d: d["webhook"].update(from_end={"median_ms": None}, skipped="x" * 500))
    why = by_case(run_dir)["webhook, push end -> receipt"].why
    assert len(why) == goals.REASON_CHARS
    assert why.endswith("...")


def test_json_output_holds_every_goal(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "goals.json"
    assert script(str(run_dir), "--json", str(out)).returncode == 0
    doc = json.loads(out.read_text())
    assert [g["case"] for g in doc["goals"]] == [case for case, _, _ in goals.GOALS]
    assert {g["result"] for g in doc["goals"]} == {"met", "not met"}


def test_run_dir_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    done = script(str(tmp_path / "nope"))
    assert done.returncode == 2
    assert f"{tmp_path / 'nope'} is not a directory" in done.stderr


def test_newest_run_is_the_default(tmp_path: Path) -> None:
    assert goals.newest_run(tmp_path / "absent") is None
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    os.utime(tmp_path / "old", (1, 1))
    assert goals.newest_run(tmp_path) == tmp_path / "new"
