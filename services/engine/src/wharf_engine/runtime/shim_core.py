"""The shim's code (see ``shim.py``, the script the engine runs, for what a shim does).

Imported from its cached bytecode by ``shim.py``, which stays small: a script is compiled at every
start, and what the compiler leaves in the heap would be resident in every shim forked from the server.
Stdlib C modules only (``_json``, ``_socket``, ``select``, ``_signal``, ``_ctypes``, ``fcntl``,
``termios``; ``shim_lib.py`` has what the shim takes from ``subprocess``, ``json`` and ``ctypes``): a
shim's resident memory is the shim server's plus its own (docs/performance.md, "Memory"). The server
has imported all of it, ``shim_log.py`` included, before it forks: a shim imports nothing of its own.
"""

from __future__ import annotations

import _socket
import errno
import fcntl
import os
import select
import sys
import termios
import time

from . import shim_log
from .shim_lib import Child, exists, json_loads, quote, read_line, runc_error, set_child_subreaper

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:  # _signal is signal without its enums (~0.9 MiB), and has no stubs of its own
    import signal as _signal
else:
    import _signal

STDIN, STDOUT, STDERR, CLOSE_STDIN, RESIZE, START = 0, 1, 2, 4, 5, 6
MAX_LINE = 16 * 1024
ACCEPT, SIGNAL, OUTPUT, CLIENT = "accept", "signal", "output", "client"


def rfc3339_nano(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def write_atomic(path: str, data: bytes) -> None:
    """Whole or absent for the engine; no fsync: the engine saves the exit in container.json,
    durably, as soon as it reads it, and a file lost to a host crash reads as exit code 255."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def frame(kind: int, payload: bytes) -> bytes:
    return bytes((kind, 0, 0, 0)) + len(payload).to_bytes(4, "big") + payload


class Shim:
    def __init__(self, args: Job) -> None:
        self.args = args
        self.poller = select.epoll()
        self.handlers: dict[int, tuple[str, _socket.socket | None]] = {}  # fd -> (what, client)
        self.log = open(args.log, "ab", buffering=0)  # noqa: SIM115 - lives as long as the shim
        self.log_size = os.fstat(self.log.fileno()).st_size
        self.clients: dict[_socket.socket, bytearray] = {}
        self.partial: dict[int, bytes] = {STDOUT: b"", STDERR: b""}
        self.outputs: dict[int, int] = {}  # fd -> stream kind
        self.stdin_fd: int | None = None
        self.master: int | None = None
        self.init_pid = 0
        self.exit_status: int | None = None
        self.started = False
        self.pending_stdin: list[bytes] = []

    def register(self, fd: int, what: str, client: _socket.socket | None = None) -> None:
        self.poller.register(fd, select.EPOLLIN)
        self.handlers[fd] = (what, client)

    def unregister(self, fd: int) -> None:
        self.poller.unregister(fd)
        del self.handlers[fd]

    def poll(self, timeout: float | None) -> list[tuple[str, int, _socket.socket | None]]:
        """Ready fds as (what, fd, client); any event (hang-up, error) counts as readable."""
        ready = []
        for fd, _ in self.poller.poll(-1 if timeout is None else max(timeout, 0)):
            if fd in self.handlers:
                what, client = self.handlers[fd]
                ready.append((what, fd, client))
        return ready

    # -- set-up ---------------------------------------------------------------
    def create(self) -> None:
        a = self.args
        cmd = [a.runtime, "--root", a.runtime_root, "--log", a.runc_log, "--log-format", "json"]
        if a.exec_process:
            cmd += ["exec", "--detach", "--process", a.exec_process, "--pid-file", a.pid_file]
        else:
            cmd += ["create", "--bundle", a.bundle, "--pid-file", a.pid_file]
        devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            rc = self._create_tty(cmd, devnull) if a.tty else self._create_piped(cmd, devnull)
        finally:
            os.close(devnull)
        if rc != 0:
            raise RuntimeError(runc_error(a.runc_log))
        with open(a.pid_file, "rb") as f:
            self.init_pid = int(f.read().strip())

    def _create_tty(self, cmd: list[str], devnull: int) -> int:
        a = self.args
        console_path = os.path.join(a.run_dir, os.path.basename(a.socket) + ".console")
        if exists(console_path):
            os.unlink(console_path)
        listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        listener.bind(console_path)
        listener.listen(1)
        proc = Child([*cmd, "--console-socket", console_path, a.id], (devnull, devnull, devnull))
        self.master = self._receive_console(listener, proc)
        rc = proc.wait()
        if self.master is not None:
            os.set_blocking(self.master, False)
            self.outputs[self.master] = STDOUT
            self.stdin_fd = self.master
        return rc

    def _create_piped(self, cmd: list[str], devnull: int) -> int:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, in_w = os.pipe() if self.args.stdin else (devnull, -1)
        try:
            rc = Child([*cmd, self.args.id], (in_r, out_w, err_w)).wait()
        finally:
            for fd in (out_w, err_w) + ((in_r,) if self.args.stdin else ()):
                os.close(fd)
        for fd, kind in ((out_r, STDOUT), (err_r, STDERR)):
            os.set_blocking(fd, False)
            self.outputs[fd] = kind
        self.stdin_fd = in_w if self.args.stdin else None
        return rc

    @staticmethod
    def _receive_console(listener: _socket.socket, proc: Child) -> int | None:
        """The pty master runc sends over the console socket; None if runc fails first."""
        path = listener.getsockname()
        listener.settimeout(0.05)
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                try:
                    conn = _socket.socket(fileno=listener._accept()[0])  # type: ignore[attr-defined]
                except TimeoutError:
                    if proc.poll() is not None:
                        return None
                    continue
                try:
                    _, ancdata, _, _ = conn.recvmsg(1024, _socket.CMSG_SPACE(4), _socket.MSG_CMSG_CLOEXEC)
                finally:
                    conn.close()
                for level, kind, data in ancdata:
                    if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(data) >= 4:
                        return int.from_bytes(data[:4], sys.byteorder)
                return None
            return None
        finally:
            listener.close()
            os.unlink(path)

    def listen(self) -> None:
        a = self.args
        if exists(a.socket):
            os.unlink(a.socket)
        self.listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        self.listener.bind(a.socket)
        self.listener.listen(16)
        self.listener.setblocking(False)
        self.register(self.listener.fileno(), ACCEPT)

    def wait_for_start(self, timeout: float = 60) -> None:
        """Accept clients until one sends *start* (an exec's process must not run ahead)."""
        deadline = time.monotonic() + timeout
        while not self.started:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError("no client started the exec")
            for what, _, client in self.poll(remaining):
                if what == ACCEPT:
                    self.accept()
                elif what == CLIENT and client is not None:
                    self.read_client(client)

    def serve(self) -> None:
        for fd in self.outputs:
            self.register(fd, OUTPUT)
        rsig, wsig = os.pipe()
        os.set_blocking(wsig, False)
        os.set_blocking(rsig, False)
        _signal.set_wakeup_fd(wsig)
        _signal.signal(_signal.SIGCHLD, lambda *_: None)
        self.register(rsig, SIGNAL)
        self.reap()

    # -- the loop -------------------------------------------------------------
    def run(self) -> int:
        while True:
            if self.exit_status is not None and not self.outputs:
                break
            timeout = 0.5 if self.exit_status is not None else None
            events = self.poll(timeout)
            if not events and self.exit_status is not None:
                # init is gone; output holders that outlive it no longer matter
                for fd in list(self.outputs):
                    self.drop_output(fd)
                break
            for what, fd, client in events:
                if what == ACCEPT:
                    self.accept()
                elif what == SIGNAL:
                    try:
                        os.read(fd, 512)
                    except BlockingIOError:
                        pass
                    self.reap()
                elif what == OUTPUT and fd in self.outputs:
                    self.read_output(fd)
                elif what == CLIENT and client is not None and client in self.clients:
                    self.read_client(client)
        for kind, rest in self.partial.items():
            if rest:
                self.log_line(kind, rest)
        return self.exit_status if self.exit_status is not None else 255

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.init_pid:
                self.exit_status = os.waitstatus_to_exitcode(status)
                if self.exit_status < 0:
                    self.exit_status = 128 - self.exit_status

    def read_output(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError as exc:  # EIO on a pty whose slave side closed
            if exc.errno != errno.EIO:
                raise
            data = b""
        if not data:
            self.drop_output(fd)
            return
        kind = self.outputs[fd]
        self.broadcast(frame(kind, data))
        buf = self.partial[kind] + data
        lines = buf.split(b"\n")
        self.partial[kind] = lines.pop()
        for line in lines:
            self.log_line(kind, line + b"\n")
        if len(self.partial[kind]) >= MAX_LINE:
            self.log_line(kind, self.partial[kind])
            self.partial[kind] = b""

    def drop_output(self, fd: int) -> None:
        self.unregister(fd)
        del self.outputs[fd]
        if fd != self.master:
            os.close(fd)

    def log_line(self, kind: int, data: bytes) -> None:
        """One line of Docker's json-file log, as ``json.dumps`` of {log, stream, time} writes it."""
        stream = "stdout" if kind == STDOUT else "stderr"
        text = quote(data.decode("utf-8", errors="replace"))
        entry = f'{{"log": {text}, "stream": "{stream}", "time": "{rfc3339_nano(time.time_ns())}"}}\n'
        if self.args.log_max_size and self.log_size >= self.args.log_max_size:
            self.log.close()  # rotated as Docker does by shim_log.py
            shim_log.rotate(self.args.log, self.args.log_max_files)
            self.log = open(self.args.log, "ab", buffering=0)  # noqa: SIM115 - lives as long as the shim
            self.log_size = os.fstat(self.log.fileno()).st_size
        self.log_size += self.log.write(entry.encode())

    def broadcast(self, data: bytes) -> None:
        for client in list(self.clients):
            try:
                client.setblocking(True)
                client.sendall(data)
            except OSError:
                self.drop_client(client)

    def accept(self) -> None:
        try:
            fd, _ = self.listener._accept()  # type: ignore[attr-defined]
        except BlockingIOError:
            return
        client = _socket.socket(fileno=fd)
        client.setblocking(False)
        self.clients[client] = bytearray()
        self.register(fd, CLIENT, client)

    def drop_client(self, client: _socket.socket) -> None:
        if client in self.clients:
            self.unregister(client.fileno())
            del self.clients[client]
            client.close()

    def read_client(self, client: _socket.socket) -> None:
        try:
            data = client.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.drop_client(client)
            return
        buf = self.clients[client]
        buf += data
        while len(buf) >= 8:
            kind, size = buf[0], int.from_bytes(buf[4:8], "big")
            if len(buf) < 8 + size:
                break
            payload = bytes(buf[8 : 8 + size])
            del buf[: 8 + size]
            self.handle_message(kind, payload)

    def handle_message(self, kind: int, payload: bytes) -> None:
        if kind == START:
            self.started = True
        elif kind == STDIN and self.stdin_fd is None and not self.init_pid:
            self.pending_stdin.append(payload)  # an exec's input, sent before it started
        elif kind == STDIN and self.stdin_fd is not None:
            try:
                os.write(self.stdin_fd, payload)
            except OSError:
                pass
        elif kind == CLOSE_STDIN and self.stdin_fd is not None:
            if self.master is None:
                os.close(self.stdin_fd)
                self.stdin_fd = None
            else:
                try:
                    os.write(self.master, b"\x04")
                except OSError:
                    pass
        elif kind == RESIZE and self.master is not None:
            rows, cols = (int(x) for x in payload.split())
            size = b"".join(n.to_bytes(2, sys.byteorder) for n in (rows, cols, 0, 0))
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)

    def finish(self, status: int) -> None:
        self.log.close()
        finished = rfc3339_nano(time.time_ns())
        result = f'{{"exit_code": {status}, "finished_at": "{finished}", "oom_killed": false}}'
        write_atomic(self.args.exit_file, result.encode())
        for client in list(self.clients):
            self.drop_client(client)
        self.listener.close()
        try:
            os.unlink(self.args.socket)
        except OSError:
            pass


class Job:
    """What the engine asks of a shim, read as one JSON object (see ``ShimLauncher.launch`` in monitor.py)."""

    def __init__(self, data: dict[str, object]) -> None:
        self.id = str(data["id"])
        self.bundle = str(data["bundle"])
        self.runtime = str(data["runtime"])
        self.runtime_root = str(data["runtime_root"])
        self.runc_log = str(data["runc_log"])
        self.pid_file = str(data["pid_file"])
        self.log = str(data["log"])
        self.log_max_size = int(str(data.get("log_max_size") or 0))
        self.log_max_files = max(1, int(str(data.get("log_max_files") or 1)))
        self.exit_file = str(data["exit_file"])
        self.socket = str(data["socket"])
        self.run_dir = str(data["run_dir"])
        self.tty = bool(data.get("tty"))
        self.stdin = bool(data.get("stdin"))
        self.exec_process = str(data["exec_process"]) if data.get("exec_process") else ""

    @classmethod
    def parse(cls, line: bytes) -> Job:
        data = json_loads(line.decode())
        if not isinstance(data, dict):
            raise ValueError("a shim's job is a JSON object")
        return cls(data)


def report(ready: int, text: str) -> None:
    data = (text + "\n").encode()
    while data:
        data = data[os.write(ready, data) :]


def main() -> int:
    """Started as a spare: daemonize at once, then wait on stdin for the job.

    The engine keeps one spare shim warm, so a container start does not wait for a
    Python interpreter to boot. EOF on stdin (the engine went away) ends a spare quietly.
    The ready report goes to stdout.
    """
    if os.fork() != 0:  # the engine reaps this parent at once; the shim lives on
        os._exit(0)
    os.setsid()
    set_child_subreaper()
    for sig in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGPIPE):
        _signal.signal(sig, _signal.SIG_IGN)
    line = read_line(0)
    if not line.strip():
        return 0
    job = Job.parse(line)
    os.chdir(job.bundle)  # the engine recognises its shim by this working directory
    errors = os.open("shim.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(errors, 2)
    os.close(errors)
    shim = Shim(job)
    try:
        shim.listen()
        if job.exec_process:
            report(1, '{"ok": true, "listening": true}')
            shim.wait_for_start()
        shim.create()
        for data in shim.pending_stdin:
            shim.handle_message(STDIN, data)
        shim.serve()
    except Exception as exc:
        report(1, f'{{"ok": false, "error": {quote(str(exc))}}}')
        return 1
    report(1, f'{{"ok": true, "shim_pid": {os.getpid()}, "pid": {shim.init_pid}}}')
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    os.close(devnull)
    status = shim.run()
    shim.finish(status)
    return 0


def run(argv: list[str]) -> int:
    """``shim.py``'s command line: ``--server FD`` runs the shim server, nothing a spare."""
    if argv[:1] == ["--server"]:
        from . import shim_server

        return shim_server.serve_spares(_socket.socket(fileno=int(argv[1])), main)
    return main()
