"""Attached sessions (``run``, ``start -a``, ``attach``): hijacked stream, wait, start, pump, exit code."""

from __future__ import annotations

import os

from wharf_client import ClientError, EngineClient, HijackedStream, PendingWait

from .background import Background, Exits, in_background
from .output import err, write_stream
from .terminal import forward_signals, is_terminal, on_resize, raw_terminal, stdin_fd

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from wharf_client.lean import NamedTuple

REMOVAL_TIMEOUT = 10.0


class AttachOptions(NamedTuple):
    tty: bool
    stdin: bool
    stdout: bool = True
    stderr: bool = True
    proxy_signals: bool = True


class _WaitResult:
    """Read the wait body in a thread so that an early exit is never missed."""

    def __init__(self, pending: PendingWait) -> None:
        self.status_code = 125
        self.error: Exception | None = None
        self._pending = pending
        self._thread = Background(self._read)

    def start(self) -> None:
        self._thread.start()

    def _read(self) -> None:
        try:
            result = self._pending.result()
        except Exception as exc:
            self.error = exc
            return
        failure = result.get("Error")
        if isinstance(failure, dict) and failure.get("Message"):
            self.error = RuntimeError(f"Error waiting for container: {failure['Message']}")
            return
        self.status_code = int(result.get("StatusCode", 125))

    def join(self, timeout: float | None = None) -> int:
        if not self._thread.join(timeout):
            return 125
        if self.error is not None:
            err(str(self.error))
            return 125
        return self.status_code


def pump_stdin(stream: HijackedStream, fd: int) -> None:
    """Copy raw bytes from ``fd`` to the container until EOF, then half-close the socket."""
    try:
        while data := os.read(fd, 32768):
            stream.send(data)
    except OSError:
        pass
    finally:
        stream.close_write()


def pump_output(stream: HijackedStream) -> None:
    for stream_type, data in stream.frames():
        write_stream(stream_type, data)


def run_session(
    client: EngineClient,
    container_id: str,
    opts: AttachOptions,
    *,
    start: bool,
    wait_condition: str,
) -> int:
    """Attach, register the wait, optionally start, stream until the output ends; return the exit code.

    This is docker's ordering (``run.go``): the wait is registered before the start so that a
    container exiting immediately is not missed. Errors from ``start`` propagate to the caller.
    """
    stream = client.container_attach(
        container_id, stdin=opts.stdin, stdout=opts.stdout, stderr=opts.stderr, tty=opts.tty
    )
    with stream, Exits() as stack:
        waiter = _WaitResult(client.container_wait_begin(container_id, condition=wait_condition))
        if start:
            try:
                client.container_start(container_id)
            except ClientError:
                if wait_condition == "removed":
                    # docker waits for the engine to remove the container; bounded, so that an engine
                    # that keeps a container whose start failed cannot hang the CLI
                    waiter.start()
                    waiter.join(timeout=REMOVAL_TIMEOUT)
                raise
        waiter.start()
        fd = stdin_fd()
        if opts.tty and is_terminal(1):
            stack.enter(on_resize(lambda h, w: client.container_resize(container_id, height=h, width=w)))
        if opts.tty and opts.stdin and fd >= 0 and is_terminal(fd):
            stack.enter(raw_terminal(fd))
        if opts.proxy_signals and not opts.tty:
            stack.enter(forward_signals(lambda sig: client.container_kill(container_id, signal=sig)))
        if opts.stdin and fd >= 0:
            in_background(pump_stdin, stream, fd)
        pump_output(stream)
    return waiter.join()
