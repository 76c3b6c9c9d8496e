"""BuildExecutor: checkout → build on an engine → push → report, for one claimed build.

It talks to the engine over the Docker Engine API (``wharf_client``) and to the hub through a
:class:`~wharf_builder.hubapi.BuildReporter`; it never imports the engine or the hub.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog
from wharf_client import EngineError, JSONObject

from . import git
from .context import context_tar, inside
from .errors import BuildCancelled, BuildTimedOut, BuildUserError
from .hubapi import BuildReporter, BuildSpec

log = structlog.get_logger(__name__)

FLUSH_SECONDS = 0.5
FLUSH_BYTES = 16 << 10


class BuildEngine(Protocol):
    """What a build needs of an engine (``wharf_client.EngineClient`` has it)."""

    def image_build(
        self,
        context: Any,
        *,
        tags: Any = (),
        dockerfile: str | None = None,
        rm: bool = True,
        forcerm: bool = False,
        buildargs: Any = None,
    ) -> Iterable[JSONObject]: ...

    def image_push(self, name: str, tag: str | None = None, *, auth: Any = None) -> Iterable[JSONObject]: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    image_id: str | None = None
    error: str | None = None


class LogSink:
    """Buffers log text and sends it in pieces, from the build's thread and, while a step is silent,
    from a flusher thread (so the hub's page shows a step's output as it comes); remembers when the
    hub said "cancelled"."""

    def __init__(self, reporter: BuildReporter, build_id: int) -> None:
        self._reporter = reporter
        self._build_id = build_id
        self._buffer: list[str] = []
        self._size = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.cancelled = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._flusher, name=f"build-{self._build_id}-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _flusher(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            try:
                self._send()
            except Exception:  # the build's thread reports what matters; the log catches up later
                log.debug("build.log_flush_failed", build_id=self._build_id, exc_info=True)

    def write(self, text: str) -> None:
        if not text:
            return
        with self._lock:
            self._buffer.append(text)
            self._size += len(text)
            full = self._size >= FLUSH_BYTES
        if full:
            self.flush()
        elif self.cancelled:
            raise BuildCancelled()

    def _send(self) -> None:
        with self._lock:
            if not self._buffer:
                return
            text, self._buffer, self._size = "".join(self._buffer), [], 0
            self.cancelled = self._reporter.log(self._build_id, text) or self.cancelled

    def flush(self) -> None:
        self._send()
        if self.cancelled:
            raise BuildCancelled()


class BuildExecutor:
    def __init__(
        self,
        engine: BuildEngine,
        reporter: BuildReporter,
        workdir: Path,
        *,
        timeout: int = 3600,
        interrupts: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.engine = engine
        self.reporter = reporter
        self.workdir = workdir
        self.timeout = timeout
        self.interrupts = interrupts
        """Raised into the build when its time is up (Celery's soft time limit)."""

    def run(self, spec: BuildSpec) -> Outcome:
        """Runs ``spec`` to a final status, which is reported and returned; never raises for a
        build that fails (a bug in here is reported as a failed build, then raised)."""
        sink = LogSink(self.reporter, spec.id)
        sink.start()
        checkout = self.workdir / f"build-{spec.id}-{time.monotonic_ns()}"
        structlog.contextvars.bind_contextvars(build_id=spec.id, repository=spec.repository)
        try:
            outcome = self._run(spec, sink, checkout)
        except self.interrupts:
            if self._cancelled(spec):  # the hub interrupted it (a cancel), not the time limit
                outcome = Outcome("cancelled", error="cancelled")
                self._final(spec, sink, outcome, "Build cancelled.\n")
            else:
                timed_out = BuildTimedOut(self.timeout)
                outcome = Outcome("failed", error=timed_out.message)
                self._final(spec, sink, outcome, f"ERROR: {timed_out.message}\n")
        except BuildCancelled:
            outcome = Outcome("cancelled", error="cancelled")
            self._final(spec, sink, outcome, "Build cancelled.\n")
        except BuildUserError as exc:
            outcome = Outcome("failed", error=exc.message)
            self._final(spec, sink, outcome, f"ERROR: {exc.message}\n")
        except EngineError as exc:
            outcome = Outcome("failed", error=str(exc))
            self._final(spec, sink, outcome, f"ERROR: {exc}\n")
        except BaseException as exc:
            # a bug or an outage (the hub, the engine): the build must not stay "running"
            failed = Outcome("failed", error="internal error")
            self._final(spec, sink, failed, f"ERROR: internal error: {exc!r}\n")
            raise
        finally:
            sink.stop()
            shutil.rmtree(checkout, ignore_errors=True)
            structlog.contextvars.unbind_contextvars("build_id", "repository")
        log.info("build.finished", build_id=spec.id, status=outcome.status)
        return outcome

    def _cancelled(self, spec: BuildSpec) -> bool:
        try:
            return self.reporter.log(spec.id, "")
        except Exception:  # the hub is away: call it the time limit
            return False

    def _final(self, spec: BuildSpec, sink: LogSink, outcome: Outcome, text: str) -> None:
        try:
            sink.write(text)
            sink.flush()
        except BuildCancelled:
            pass
        except Exception:  # the status below matters more than the last log line
            log.warning("build.log_lost", build_id=spec.id, exc_info=True)
        self.reporter.status(spec.id, outcome.status, error=outcome.error, image_id=outcome.image_id)

    def _report(self, spec: BuildSpec, sink: LogSink, status: str, **fields: Any) -> None:
        sink.flush()
        if self.reporter.status(spec.id, status, **fields):
            raise BuildCancelled()

    def _run(self, spec: BuildSpec, sink: LogSink, checkout: Path) -> Outcome:
        self._report(spec, sink, "cloning")
        wanted = spec.commit or spec.ref
        sink.write(f"Cloning {spec.source_url} at {wanted}\n")
        commit = git.checkout(spec.source_url, spec.ref, spec.commit, checkout)
        sink.write(f"Checked out {commit.sha}: {commit.message.splitlines()[0] if commit.message else ''}\n")

        context = inside(checkout, spec.context, "build context")
        if not context.is_dir():
            raise BuildUserError(f"build context {spec.context!r} is not a directory in the repository")
        dockerfile = inside(context, spec.dockerfile, "Dockerfile")
        if not dockerfile.is_file():
            raise BuildUserError(f"Dockerfile {spec.dockerfile!r} not found in {spec.context!r}")
        name = str(dockerfile.relative_to(context))
        self._report(
            spec,
            sink,
            "building",
            commit_sha=commit.sha,
            commit_message=commit.message,
            dockerfile_text=dockerfile.read_text(errors="replace")[:65_536],
        )
        image_id = self._build(spec, sink, context, name)

        self._report(spec, sink, "pushing", image_id=image_id)
        auth = {"username": spec.push_username, "password": spec.push_password}
        for tag in spec.tags:
            sink.write(f"Pushing {spec.image}:{tag}\n")
            for message in self.engine.image_push(spec.image, tag, auth=auth):
                _write_message(sink, message)
        sink.write(f"Pushed {', '.join(f'{spec.image}:{t}' for t in spec.tags)}\n")
        self._report(spec, sink, "success", image_id=image_id)
        return Outcome("success", image_id=image_id)

    def _build(self, spec: BuildSpec, sink: LogSink, context: Path, dockerfile: str) -> str:
        image_id: str | None = None
        with context_tar(context, dockerfile) as body:
            messages = self.engine.image_build(
                body,
                tags=[f"{spec.image}:{t}" for t in spec.tags],
                dockerfile=dockerfile,
                rm=True,
                forcerm=True,
                buildargs=spec.build_args or None,
            )
            try:
                for message in messages:
                    aux = message.get("aux")
                    if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
                        image_id = aux["ID"]
                    _write_message(sink, message)
            except EngineError as exc:
                raise BuildUserError(str(exc)) from None
        if image_id is None:
            raise BuildUserError("the engine reported no image id")
        return image_id


def _write_message(sink: LogSink, message: JSONObject) -> None:
    stream = message.get("stream")
    if isinstance(stream, str):
        sink.write(stream)
        return
    status = message.get("status")
    if isinstance(status, str) and not message.get("progressDetail"):
        ident = message.get("id")
        sink.write(f"{ident}: {status}\n" if ident else f"{status}\n")


__all__ = ["BuildEngine", "BuildExecutor", "LogSink", "Outcome"]
