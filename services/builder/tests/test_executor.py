"""BuildExecutor with a fake engine and reporter, on real git repositories made here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from wharf_builder.executor import BuildExecutor
from wharf_builder.hubapi import BuildSpec
from wharf_builder.testing import FakeEngine, FakeReporter


class Interrupted(BaseException):
    """Stands in for Celery's SoftTimeLimitExceeded."""


def make_repo(root: Path, files: dict[str, str]) -> tuple[Path, str]:
    bare, work = root / "src.git", root / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git = ["git", "-C", str(work), "-c", "user.name=a", "-c", "user.email=a@example.test"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the commit\n\nwith a body"], check=True)
    subprocess.run([*git, "push", "-q", str(bare), "main"], check=True)
    sha = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return bare, sha


def spec(source: Path, **changes: object) -> BuildSpec:
    data: dict[str, object] = {
        "id": 7,
        "repository": "alice/web",
        "image": "alice/web",
        "source_url": str(source),
        "source_type": "branch",
        "ref": "main",
        "commit": None,
        "dockerfile": "Dockerfile",
        "context": "/",
        "tags": ["latest"],
        "push_username": "wharf-build-7",
        "push_password": "s3cret",
    }
    data.update(changes)
    return BuildSpec.of(data)


def statuses(reporter: FakeReporter) -> list[str]:
    return [status for status, _ in reporter.statuses]


def test_success_reports_each_stage_builds_the_context_and_pushes_each_tag(tmp_path: Path) -> None:
    source, sha = make_repo(tmp_path, {"Dockerfile": "FROM busybox\n", "app/x.txt": "x"})
    engine, reporter = FakeEngine(), FakeReporter()
    outcome = BuildExecutor(engine, reporter, tmp_path / "w").run(spec(source, tags=["latest", "v1"]))

    assert outcome.status == "success" and outcome.image_id == "sha256:" + "a" * 64
    assert statuses(reporter) == ["cloning", "building", "pushing", "success"]
    assert reporter.statuses[1][1]["commit_sha"] == sha
    assert reporter.statuses[1][1]["commit_message"] == "the commit\n\nwith a body"
    assert engine.built[0]["tags"] == ["alice/web:latest", "alice/web:v1"]
    assert [(n, t) for n, t, _ in engine.pushed] == [("alice/web", "latest"), ("alice/web", "v1")]
    assert engine.pushed[0][2] == {"username": "wharf-build-7", "password": "s3cret"}
    assert "Step 1/2 : FROM busybox" in reporter.text
    assert not list((tmp_path / "w").iterdir()), "the checkout is removed"


def test_an_exact_commit_is_built_even_when_the_branch_moved_on(tmp_path: Path) -> None:
    source, first = make_repo(tmp_path, {"Dockerfile": "FROM busybox\n"})
    work = tmp_path / "work"
    git = ["git", "-C", str(work), "-c", "user.name=a", "-c", "user.email=a@example.test"]
    (work / "Dockerfile").write_text("FROM busybox\nRUN false\n")
    subprocess.run([*git, "commit", "-qam", "second"], check=True)
    subprocess.run([*git, "push", "-q", str(source), "main"], check=True)

    engine, reporter = FakeEngine(), FakeReporter()
    outcome = BuildExecutor(engine, reporter, tmp_path / "w").run(spec(source, commit=first))
    assert outcome.status == "success"
    assert reporter.statuses[1][1]["commit_sha"] == first


def test_a_failing_step_fails_the_build_pushes_nothing_and_ends_the_log_with_the_error(
    tmp_path: Path,
) -> None:
    source, _ = make_repo(tmp_path, {"Dockerfile": "FROM busybox\nRUN false\n"})
    engine, reporter = FakeEngine(), FakeReporter()
    outcome = BuildExecutor(engine, reporter, tmp_path / "w").run(spec(source))

    assert outcome.status == "failed" and "non-zero code" in (outcome.error or "")
    assert statuses(reporter)[-1] == "failed" and "pushing" not in statuses(reporter)
    assert engine.pushed == []
    assert reporter.text.rstrip().splitlines()[-1].startswith("ERROR: ")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dockerfile": "docker/Dockerfile.prod"}, "not found"),
        ({"context": "nope"}, "not a directory"),
        ({"context": "../.."}, "leaves the repository"),
        ({"dockerfile": "../../etc/passwd"}, "leaves the repository"),
        ({"ref": "no-such-branch"}, "git fetch failed"),
        ({"ref": "--upload-pack=touch /tmp/x"}, "invalid source reference"),
    ],
)
def test_bad_paths_and_refs_fail_with_a_clear_message(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    source, _ = make_repo(tmp_path, {"Dockerfile": "FROM busybox\n"})
    reporter = FakeReporter()
    outcome = BuildExecutor(FakeEngine(), reporter, tmp_path / "w").run(spec(source, **changes))
    assert outcome.status == "failed"
    assert message in (outcome.error or ""), outcome.error


def test_a_symlinked_context_that_leaves_the_checkout_is_refused(tmp_path: Path) -> None:
    source, _ = make_repo(tmp_path, {"Dockerfile": "FROM busybox\n"})
    work = tmp_path / "work"
    (work / "ctx").symlink_to("/etc")
    git = ["git", "-C", str(work), "-c", "user.name=a", "-c", "user.email=a@example.test"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "link"], check=True)
    subprocess.run([*git, "push", "-q", str(source), "main"], check=True)
    outcome = BuildExecutor(FakeEngine(), FakeReporter(), tmp_path / "w").run(spec(source, context="ctx"))
    assert outcome.status == "failed" and "leaves the repository" in (outcome.error or "")


def test_a_cancel_seen_in_a_report_stops_the_build(tmp_path: Path) -> None:
    source, _ = make_repo(tmp_path, {"Dockerfile": "FROM busybox\n"})
    engine, reporter = FakeEngine(), FakeReporter(cancel_after=1)
    outcome = BuildExecutor(engine, reporter, tmp_path / "w").run(spec(source))
    assert outcome.status == "cancelled"
    assert statuses(reporter)[-1] == "cancelled"
    assert engine.built == [] and engine.pushed == []


def test_the_time_limit_interrupt_fails_the_build_as_timed_out(tmp_path: Path) -> None:
    source, _ = make_repo(tmp_path, {"Dockerfile": "FROM busybox\n"})
    reporter = FakeReporter()
    executor = BuildExecutor(
        FakeEngine(hang=Interrupted()), reporter, tmp_path / "w", timeout=5, interrupts=(Interrupted,)
    )
    outcome = executor.run(spec(source))
    assert outcome.status == "failed"
    assert "longer than its timeout (5 s)" in (outcome.error or "")
    assert statuses(reporter)[-1] == "failed"


def test_an_unexpected_error_is_reported_as_failed_then_raised(tmp_path: Path) -> None:
    source, _ = make_repo(tmp_path, {"Dockerfile": "FROM busybox\n"})
    reporter = FakeReporter()
    with pytest.raises(RuntimeError):
        BuildExecutor(FakeEngine(hang=RuntimeError("boom")), reporter, tmp_path / "w").run(spec(source))
    assert reporter.statuses[-1] == ("failed", {"error": "internal error", "image_id": None})


class CancelledMeanwhile(FakeReporter):
    """The hub cancelled the build while it ran: what the executor's probe after an interrupt hears."""

    def log(self, build_id: int, text: str) -> bool:
        super().log(build_id, text)
        return text == ""


def test_an_interrupt_of_a_cancelled_build_ends_it_cancelled_not_timed_out(tmp_path: Path) -> None:
    source, _ = make_repo(tmp_path, {"Dockerfile": "FROM busybox\n"})
    reporter = CancelledMeanwhile()
    executor = BuildExecutor(
        FakeEngine(hang=Interrupted()), reporter, tmp_path / "w", interrupts=(Interrupted,)
    )
    outcome = executor.run(spec(source))
    assert outcome.status == "cancelled"
    assert statuses(reporter)[-1] == "cancelled"
