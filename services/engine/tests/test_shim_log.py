"""The shim's log rotation: Docker's file names, the oldest file dropped."""

from __future__ import annotations

from pathlib import Path

from wharf_engine.runtime.shim_log import rotate


def test_rotation_shifts_names_and_drops_the_oldest(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    for generation in range(4):
        log.write_text(f"gen {generation}\n")
        rotate(str(log), 3)
    assert log.read_text() == ""
    assert [(tmp_path / f"c-json.log.{i}").read_text() for i in (1, 2)] == ["gen 3\n", "gen 2\n"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c-json.log", "c-json.log.1", "c-json.log.2"]


def test_one_file_starts_afresh(tmp_path: Path) -> None:
    log = tmp_path / "c-json.log"
    log.write_text("old\n")
    rotate(str(log), 1)
    assert log.read_text() == "" and [p.name for p in tmp_path.iterdir()] == ["c-json.log"]
