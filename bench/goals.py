"""The last step of ``make bench``: the performance goals (issues #16 and #11), each met or not.

``make bench`` has every bench write ``--json`` (and its output, ``<name>.log``, and exit status,
``<name>.exit``) into one run directory, ``.cache/bench/<run>/``. This reads those files and prints one
row per goal: the case, the figure measured, the floor or peer measured beside it in the same bench
run, the goal, and "met" / "not met", or "not measured: <why>" when a bench was skipped, failed,
or left the figure out (a key is looked up, never assumed). It always exits 0 once the directory
exists: a missed goal is a result, not an error.

Where each figure comes from (file: keys):

- ``hub_bench.json``: ``rps[]`` rows by ``backend`` (sqlite, postgresql), ``endpoint`` (floor, search,
  token), ``concurrency``, ``mode`` (keep-alive): ``rps``, ``p99_ms``, ``skipped``;
  ``webhook.from_end.median_ms``;
- ``hub_scale_bench.json``: ``"1:token"`` and ``"2:token"`` (requests/s);
- ``cli_bench.json`` (else ``bench.json``): the ``median_ms`` of the cases keyed ``wharf-run`` (``wharf``),
  ``docker-run`` (``docker-wharf``), ``wharf-ps``, ``python`` (objects with ``key`` anywhere in the file);
- ``registry_bench.json``: the ``rows[]`` entry keyed ``push-big``: ``wharf_mib_s``, ``floor_mib_s``;
- ``memory_bench.json``: ``shims.rss`` (MiB, one per container), the ``rows[]`` entry with ``goal``
  ``idle``: ``idle_rss``;
- ``bench.json``: the ``docker-wharf-tls`` and ``docker-wharf`` cases (issue #11's TLS point).

Usage: ``.venv/bin/python bench/goals.py [RUN_DIR] [--json PATH]`` (default: the newest run in .cache/bench)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

RUNS = Path(__file__).resolve().parents[1] / ".cache" / "bench"
REASON_CHARS = 160  # a "not measured" reason is cut to this, the log holds the rest


class NotMeasured(Exception):
    """A goal's figure is missing from the run; the message says why."""


@dataclass(frozen=True, slots=True)
class Goal:
    """One row of the table; ``met`` is None when the figure was not measured."""

    case: str
    goal: str
    measured: str = "-"
    floor: str = "-"
    met: bool | None = None
    why: str = ""

    @property
    def result(self) -> str:
        if self.met is None:
            return f"not measured: {self.why}"
        return "met" if self.met else "not met"


class Run:
    """One run directory: each bench's JSON, read once, with the reason when it is missing."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._docs: dict[str, dict[str, Any]] = {}

    def doc(self, name: str) -> dict[str, Any]:
        if name not in self._docs:
            self._docs[name] = self._load(name)
        return self._docs[name]

    def _load(self, name: str) -> dict[str, Any]:
        path = self.root / f"{name}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotMeasured(self._why_missing(name)) from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise NotMeasured(f"{path.name} is not readable JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise NotMeasured(f"{path.name} holds a {type(data).__name__}, not an object")
        return data

    def _why_missing(self, name: str) -> str:
        exit_file, log_file = self.root / f"{name}.exit", self.root / f"{name}.log"
        last = ""
        if log_file.is_file():
            lines = log_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            last = lines[-1].strip() if lines else ""
        code = exit_file.read_text(encoding="utf-8").strip() if exit_file.is_file() else ""
        if code and code != "0":
            return f"bench/{name}.py exited {code}" + (f": {last}" if last else "")
        if code or last:
            return f"bench/{name}.py wrote no {name}.json" + (f": {last}" if last else "")
        return f"bench/{name}.py was not run (no {name}.json in {self.root.name})"


# --- reading figures --------------------------------------------------------------------------------
def number(value: object, what: str) -> float:
    """A figure that must be a number (JSON null or a missing key is "not measured")."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NotMeasured(f"no figure for {what}")
    return float(value)


def cases(node: object) -> Iterator[dict[str, Any]]:
    """Every object with a ``key`` anywhere in a document (bench.py's ``cases``, cli_bench's, ...)."""
    if isinstance(node, dict):
        if isinstance(node.get("key"), str):
            yield node
        for value in node.values():
            yield from cases(value)
    elif isinstance(node, list):
        for item in node:
            yield from cases(item)


def case_ms(doc: dict[str, Any], name: str, keys: Sequence[str]) -> float:
    """The median ms of the first of ``keys`` found in ``doc``; its skip reason if it was skipped."""
    found = {c["key"]: c for c in cases(doc)}
    for key in keys:
        if key in found:
            case = found[key]
            if case.get("median_ms") is None and case.get("skipped"):
                raise NotMeasured(f"{key}: {case['skipped']}")
            return number(case.get("median_ms"), f"{key} in {name}.json")
    raise NotMeasured(f"no case {' or '.join(keys)} in {name}.json")


def first_with(run: Run, names: Sequence[str], keys: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The first bench among ``names`` whose JSON has one of ``keys`` (so a pair comes from one run)."""
    reasons = []
    for name in names:
        try:
            doc = run.doc(name)
        except NotMeasured as exc:
            reasons.append(str(exc))
            continue
        if any(c["key"] in keys for c in cases(doc)):
            return name, doc
        reasons.append(f"no case {' or '.join(keys)} in {name}.json")
    raise NotMeasured("; ".join(reasons))


def objects(value: object) -> list[dict[str, Any]]:
    """The objects of a JSON list (anything else: none)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def notes(doc: dict[str, Any], about: str) -> list[str]:
    """The bench's notes that mention ``about`` (case-insensitive)."""
    found = doc.get("notes")
    items = found if isinstance(found, list) else []
    return [n for n in items if isinstance(n, str) and about.lower() in n.lower()]


def stopped(doc: dict[str, Any], otherwise: str) -> NotMeasured:
    """The bench's own "stopped: ..." note when it has one."""
    return NotMeasured(next(iter(notes(doc, "stopped")), otherwise))


def hub_row(run: Run, backend: str, endpoint: str, width: int) -> dict[str, Any]:
    doc = run.doc("hub_bench")
    wanted = {"backend": backend, "endpoint": endpoint, "concurrency": width, "mode": "keep-alive"}
    for row in objects(doc.get("rps")):
        if all(row.get(k) == v for k, v in wanted.items()):
            if row.get("rps") is None and row.get("skipped"):
                raise NotMeasured(f"{backend} {endpoint}: {row['skipped']}")
            return row
    why = next(iter(notes(doc, f"{backend} skipped")), None)
    raise (
        NotMeasured(why) if why else stopped(doc, f"no {backend} {endpoint} row at {width} in hub_bench.json")
    )


def rate(value: float) -> str:
    return f"{value:,.0f} req/s"


# --- the goals --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Figure:
    measured: str
    floor: str
    met: bool


SEARCH_GOAL, TOKEN_GOAL, TOKEN_P99_GOAL = 1000.0, 1000.0, 50.0  # req/s, req/s, ms
PS_GOAL, WEBHOOK_GOAL, PUSH_GOAL = 40.0, 15.0, 300.0  # ms, ms, MiB/s
SCALE_GOAL, SHIM_GOAL, ENGINE_IDLE_GOAL, TLS_GOAL = 1.7, 10.0, 80.0, 1.10  # x, MiB, MiB, x
CLI_BENCHES = ("cli_bench", "bench")  # cli_bench.py when it ran, else bench.py's CLI cases
WHARF_RUN, DOCKER_RUN = ("wharf-run", "wharf"), ("docker-run", "docker-wharf")  # cli_bench, bench
WHARF_PS, PYTHON = ("wharf-ps",), ("python",)
PUSH_ROWS = ("push-big",)  # registry_bench.py: the 100 MiB push through the engine


def ping(row: dict[str, Any]) -> str:
    value = row.get("rps")
    return f"/v1/_ping {rate(value)}" if isinstance(value, int | float) else "-"


def hub_search(run: Run, backend: str) -> Figure:
    row, floor = hub_row(run, backend, "search", 1), hub_row(run, backend, "floor", 1)
    rps = number(row.get("rps"), f"{backend} search req/s")
    return Figure(rate(rps), ping(floor), rps >= SEARCH_GOAL)


def hub_token(run: Run, backend: str) -> Figure:
    row, floor = hub_row(run, backend, "token", 16), hub_row(run, backend, "floor", 16)
    rps, p99 = number(row.get("rps"), f"{backend} token req/s"), number(row.get("p99_ms"), "token p99")
    return Figure(f"{rate(rps)}, p99 {p99:.1f} ms", ping(floor), rps >= TOKEN_GOAL and p99 < TOKEN_P99_GOAL)


def cli_run(run: Run) -> Figure:
    name, doc = first_with(run, CLI_BENCHES, WHARF_RUN)
    ours, docker = case_ms(doc, name, WHARF_RUN), case_ms(doc, name, DOCKER_RUN)
    return Figure(f"{ours:.1f} ms", f"docker CLI {docker:.1f} ms", ours <= docker)


def cli_ps(run: Run) -> Figure:
    name, doc = first_with(run, CLI_BENCHES, WHARF_PS)
    ours, python = case_ms(doc, name, WHARF_PS), case_ms(doc, name, PYTHON)
    return Figure(f"{ours:.1f} ms", f"python -c pass {python:.1f} ms", ours <= PS_GOAL)


def webhook(run: Run) -> Figure:
    hook = run.doc("hub_bench").get("webhook")
    hook = hook if isinstance(hook, dict) else {}
    end = hook.get("from_end")
    value = end.get("median_ms") if isinstance(end, dict) else None
    if value is None and hook.get("skipped"):
        raise NotMeasured(f"webhook: {hook['skipped']}")
    ms = number(value, "webhook.from_end.median_ms in hub_bench.json")
    return Figure(f"{ms:.1f} ms", "-", ms <= WEBHOOK_GOAL)


def registry_push(run: Run) -> Figure:
    doc = run.doc("registry_bench")
    rows = {r.get("key"): r for r in objects(doc.get("rows"))}
    key = next((k for k in PUSH_ROWS if k in rows), None)
    if key is None:
        raise stopped(doc, f"no row {' or '.join(PUSH_ROWS)} in registry_bench.json")
    mib_s = number(rows[key].get("wharf_mib_s"), f"{key} in registry_bench.json")
    floor = rows[key].get("floor_mib_s")
    shown = f"cp of the layer files {floor:.0f} MiB/s" if isinstance(floor, int | float) else "-"
    return Figure(f"{mib_s:.1f} MiB/s", shown, mib_s >= PUSH_GOAL)


def hub_scale(run: Run) -> Figure:
    doc = run.doc("hub_scale_bench")
    one, two = number(doc.get("1:token"), "1:token"), number(doc.get("2:token"), "2:token")
    if one <= 0:
        raise NotMeasured("1 process served no token requests")
    return Figure(f"{two / one:.2f}x ({rate(two)})", f"1 process {rate(one)}", two / one >= SCALE_GOAL)


def shim_memory(run: Run) -> Figure:
    shims = run.doc("memory_bench").get("shims")
    shims = shims if isinstance(shims, dict) else {}
    sizes = [v for v in shims.get("rss") or [] if isinstance(v, int | float) and not isinstance(v, bool)]
    if not sizes:
        raise NotMeasured(f"no shim measured: {shims.get('error') or 'no shims.rss in memory_bench.json'}")
    return Figure(f"{max(sizes):.1f} MiB", f"max of {len(sizes)} containers", max(sizes) <= SHIM_GOAL)


def engine_memory(run: Run) -> Figure:
    doc = run.doc("memory_bench")
    rows = [r for r in objects(doc.get("rows")) if r.get("goal") == "idle"]
    if not rows:
        raise stopped(doc, "no engine row in memory_bench.json")
    rss = number(rows[0].get("idle_rss"), "engine idle_rss")
    return Figure(f"{rss:.1f} MiB", "-", rss <= ENGINE_IDLE_GOAL)


def tls(run: Run) -> Figure:
    doc = run.doc("bench")
    over_tls, unix = case_ms(doc, "bench", ("docker-wharf-tls",)), case_ms(doc, "bench", ("docker-wharf",))
    if unix <= 0:
        raise NotMeasured("docker-wharf took no time")
    return Figure(
        f"{over_tls:.1f} ms, {over_tls / unix:.2f}x", f"unix socket {unix:.1f} ms", over_tls / unix < TLS_GOAL
    )


# case, goal, reader: issue #16's table, then its scale-out and memory targets, then #11's TLS point
SEARCH, TOKEN = f">= {SEARCH_GOAL:,.0f} req/s", f">= {TOKEN_GOAL:,.0f} req/s, p99 < {TOKEN_P99_GOAL:.0f} ms"
GOALS: tuple[tuple[str, str, Callable[[Run], Figure]], ...] = (
    ("hub search q=web n=25, 1 conn (SQLite)", SEARCH, partial(hub_search, backend="sqlite")),
    ("hub search q=web n=25, 1 conn (PostgreSQL)", SEARCH, partial(hub_search, backend="postgresql")),
    ("hub token endpoint, 16 conns (SQLite)", TOKEN, partial(hub_token, backend="sqlite")),
    ("hub token endpoint, 16 conns (PostgreSQL)", TOKEN, partial(hub_token, backend="postgresql")),
    ("wharf run --rm busybox true", "<= the docker CLI", cli_run),
    ("wharf ps", f"<= {PS_GOAL:.0f} ms", cli_ps),
    ("webhook, push end -> receipt", f"<= {WEBHOOK_GOAL:.0f} ms", webhook),
    ("registry push, 100 MiB layer via the engine", f">= {PUSH_GOAL:.0f} MiB/s", registry_push),
    ("hub token path, 2 processes vs 1", f">= {SCALE_GOAL}x", hub_scale),
    ("shim RSS per container", f"<= {SHIM_GOAL:.0f} MiB", shim_memory),
    ("engine RSS, idle", f"<= {ENGINE_IDLE_GOAL:.0f} MiB", engine_memory),
    ("docker run over tcp+tlsverify (#11)", f"< {TLS_GOAL:.2f}x the unix socket", tls),
)


def evaluate(run: Run) -> list[Goal]:
    goals = []
    for case, goal, read in GOALS:
        try:
            figure = read(run)
        except NotMeasured as exc:
            why = str(exc) if len(str(exc)) <= REASON_CHARS else str(exc)[: REASON_CHARS - 3] + "..."
            goals.append(Goal(case, goal, why=why))
            continue
        goals.append(Goal(case, goal, figure.measured, figure.floor, figure.met))
    return goals


COLUMNS = ("case", "measured", "floor / peer (same run)", "goal", "result")


def table(goals: Sequence[Goal], root: Path) -> str:
    rows = [[g.case, g.measured, g.floor, g.goal, g.result] for g in goals]
    widths = [max(len(r[i]) for r in [list(COLUMNS), *rows]) for i in range(len(COLUMNS) - 1)]
    lines = [f"goals (issues #16 and #11), run {root}"]
    for row in [list(COLUMNS), *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    met = sum(g.met is True for g in goals)
    missed = sum(g.met is False for g in goals)
    lines.append(f"{met} met, {missed} not met, {len(goals) - met - missed} not measured, of {len(goals)}")
    return "\n".join(lines)


def newest_run(runs: Path = RUNS) -> Path | None:
    found = sorted(p for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "run", type=Path, nargs="?", help="a run directory (default: the newest in .cache/bench)"
    )
    parser.add_argument("--json", type=Path, help="also write the goals as JSON here")
    args = parser.parse_args(argv)
    root = args.run if args.run is not None else newest_run()
    if root is None:
        parser.error(f"no run directory under {RUNS}: run `make bench` first, or name one")
    if not root.is_dir():
        parser.error(f"{root} is not a directory")
    goals = evaluate(Run(root))
    print(table(goals, root))
    if args.json is not None:
        doc = [asdict(g) | {"result": g.result} for g in goals]
        args.json.write_text(json.dumps({"run": str(root), "goals": doc}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
