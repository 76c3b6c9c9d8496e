"""wharf-shim: keeps one container's stdio, logs and exit code, independent of the engine.

Stdlib only. The engine runs ``python3 -S shim.py --server FD`` once: a shim server that has
paid for the interpreter and the imports, and forks a spare shim whenever the engine asks over
the unix socket FD (``shim_server.py``), so no container waits for Python to boot or pays
for it in CPU. A spare reads its job as one JSON line on stdin. The shim daemonizes
(forks once and the parent exits), so killing or restarting the engine never touches the
container. ``python3 -S shim.py`` alone still runs one spare, without a server.

What the shim does, in order:

1. becomes a child subreaper, so the container's init process is reparented to it;
2. runs ``runc create`` with the container's stdio: pipes (non-TTY) or a pty received
   over ``--console-socket`` (TTY);
3. reports readiness on stdout as one JSON line ``{"ok", "shim_pid", "pid"}``
   or ``{"ok": false, "error"}``, then serves the attach socket;
4. copies the container's output to the json-file log (Docker's format, one JSON object
   per line, rotated as Docker's past ``log_max_size``) and to every attached client;
5. when init exits and its output is drained, writes the exit file atomically
   (``{"exit_code", "finished_at", "oom_killed"}``) and exits.

The engine starts the process itself with ``runc start`` once attachers are connected.

Attach socket frames, both directions: ``[type:1][0,0,0][size:4 big-endian][payload]``.
Shim to client: 1 stdout, 2 stderr (Docker's multiplexed framing). Client to shim:
0 stdin bytes, 4 close stdin, 5 resize (payload ``b"<rows> <cols>"``), 6 start.

An exec (``runc exec``) starts its process at once, so an exec shim reports
``{"listening": true}`` first and runs it only when a client sends *start*: output
cannot run ahead of the attach.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import importlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
STDIN, STDOUT, STDERR, CLOSE_STDIN, RESIZE, START = 0, 1, 2, 4, 5, 6
MAX_LINE = 16 * 1024


def rfc3339_nano(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def write_atomic(path: Path, data: bytes) -> None:
    """Whole or absent for the engine; no fsync: the engine saves the exit in container.json,
    durably, as soon as it reads it, and a file lost to a host crash reads as exit code 255."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def frame(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxI", kind, len(payload)) + payload


def runc_error(log_path: Path) -> str:
    """The last error runc wrote to its JSON log, with runc's own prefixes."""
    message = "runc create failed"
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return message
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") in ("error", "fatal") and entry.get("msg"):
            message = str(entry["msg"])
    return message


class Shim:
    def __init__(self, args: Job) -> None:
        self.args = args
        self.sel = selectors.DefaultSelector()
        self.log = open(args.log, "ab", buffering=0)  # noqa: SIM115 - lives as long as the shim
        self.log_size = os.fstat(self.log.fileno()).st_size
        self.clients: dict[socket.socket, bytearray] = {}
        self.partial: dict[int, bytes] = {STDOUT: b"", STDERR: b""}
        self.outputs: dict[int, int] = {}  # fd -> stream kind
        self.stdin_fd: int | None = None
        self.master: int | None = None
        self.init_pid = 0
        self.exit_status: int | None = None
        self.started = False
        self.pending_stdin: list[bytes] = []

    # -- set-up ---------------------------------------------------------------
    def create(self) -> None:
        a = self.args
        cmd = [a.runtime, "--root", a.runtime_root, "--log", a.runc_log, "--log-format", "json"]
        if a.exec_process:
            cmd += ["exec", "--detach", "--process", a.exec_process, "--pid-file", a.pid_file]
        else:
            cmd += ["create", "--bundle", a.bundle, "--pid-file", a.pid_file]
        devnull = os.open(os.devnull, os.O_RDWR)
        if a.tty:
            console_path = os.path.join(a.run_dir, os.path.basename(a.socket) + ".console")
            if os.path.exists(console_path):
                os.unlink(console_path)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(console_path)
            listener.listen(1)
            proc = subprocess.Popen(
                [*cmd, "--console-socket", console_path, a.id],
                stdin=devnull,
                stdout=devnull,
                stderr=devnull,
            )
            self.master = self._receive_console(listener, proc)
            rc = proc.wait()
            if self.master is not None:
                os.set_blocking(self.master, False)
                self.outputs[self.master] = STDOUT
                self.stdin_fd = self.master
        else:
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            in_r, in_w = os.pipe() if a.stdin else (devnull, -1)
            proc = subprocess.Popen([*cmd, a.id], stdin=in_r, stdout=out_w, stderr=err_w)
            rc = proc.wait()
            for fd in (out_w, err_w) + ((in_r,) if a.stdin else ()):
                os.close(fd)
            for fd, kind in ((out_r, STDOUT), (err_r, STDERR)):
                os.set_blocking(fd, False)
                self.outputs[fd] = kind
            self.stdin_fd = in_w if a.stdin else None
        os.close(devnull)
        if rc != 0:
            raise RuntimeError(runc_error(Path(a.runc_log)))
        self.init_pid = int(Path(a.pid_file).read_text().strip())

    @staticmethod
    def _receive_console(listener: socket.socket, proc: subprocess.Popen[bytes]) -> int | None:
        """The pty master runc sends over the console socket; None if runc fails first."""
        path = listener.getsockname()
        listener.settimeout(0.05)
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    if proc.poll() is not None:
                        return None
                    continue
                with conn:
                    _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
                return fds[0] if fds else None
            return None
        finally:
            listener.close()
            os.unlink(path)

    def listen(self) -> None:
        a = self.args
        if os.path.exists(a.socket):
            os.unlink(a.socket)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(a.socket)
        self.listener.listen(16)
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, "accept")

    def wait_for_start(self, timeout: float = 60) -> None:
        """Accept clients until one sends *start* (an exec's process must not run ahead)."""
        deadline = time.monotonic() + timeout
        while not self.started:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError("no client started the exec")
            for key, _ in self.sel.select(remaining):
                if key.data == "accept":
                    self.accept()
                elif key.data == "client":
                    self.read_client(key.fileobj)  # type: ignore[arg-type]

    def serve(self) -> None:
        for fd in self.outputs:
            self.sel.register(fd, selectors.EVENT_READ, "output")
        rsig, wsig = os.pipe()
        os.set_blocking(wsig, False)
        os.set_blocking(rsig, False)
        signal.set_wakeup_fd(wsig)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.sel.register(rsig, selectors.EVENT_READ, "signal")
        self.reap()

    # -- the loop -------------------------------------------------------------
    def run(self) -> int:
        while True:
            if self.exit_status is not None and not self.outputs:
                break
            timeout = 0.5 if self.exit_status is not None else None
            events = self.sel.select(timeout)
            if not events and self.exit_status is not None:
                # init is gone; output holders that outlive it no longer matter
                for fd in list(self.outputs):
                    self.drop_output(fd)
                break
            for key, _ in events:
                if key.data == "accept":
                    self.accept()
                elif key.data == "signal":
                    try:
                        os.read(key.fd, 512)
                    except BlockingIOError:
                        pass
                    self.reap()
                elif key.data == "output":
                    self.read_output(key.fd)
                elif key.data == "client":
                    self.read_client(key.fileobj)  # type: ignore[arg-type]
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
        self.sel.unregister(fd)
        del self.outputs[fd]
        if fd != self.master:
            os.close(fd)

    def log_line(self, kind: int, data: bytes) -> None:
        entry = {
            "log": data.decode("utf-8", errors="replace"),
            "stream": "stdout" if kind == STDOUT else "stderr",
            "time": rfc3339_nano(time.time_ns()),
        }
        if self.args.log_max_size and self.log_size >= self.args.log_max_size:
            self.log.close()  # rotated as Docker does by shim_log.py, loaded when a log first fills
            importlib.import_module("shim_log").rotate(self.args.log, self.args.log_max_files)
            self.log = open(self.args.log, "ab", buffering=0)  # noqa: SIM115 - lives as long as the shim
            self.log_size = os.fstat(self.log.fileno()).st_size
        self.log_size += self.log.write(json.dumps(entry).encode() + b"\n")

    def broadcast(self, data: bytes) -> None:
        for client in list(self.clients):
            try:
                client.setblocking(True)
                client.sendall(data)
            except OSError:
                self.drop_client(client)

    def accept(self) -> None:
        try:
            client, _ = self.listener.accept()
        except BlockingIOError:
            return
        client.setblocking(False)
        self.clients[client] = bytearray()
        self.sel.register(client, selectors.EVENT_READ, "client")

    def drop_client(self, client: socket.socket) -> None:
        if client in self.clients:
            self.sel.unregister(client)
            del self.clients[client]
            client.close()

    def read_client(self, client: socket.socket) -> None:
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
            kind, size = struct.unpack(">BxxxI", bytes(buf[:8]))
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
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def finish(self, status: int) -> None:
        self.log.close()
        oom = False
        result = {"exit_code": status, "finished_at": rfc3339_nano(time.time_ns()), "oom_killed": oom}
        write_atomic(Path(self.args.exit_file), json.dumps(result).encode())
        for client in list(self.clients):
            self.drop_client(client)
        self.listener.close()
        try:
            os.unlink(self.args.socket)
        except OSError:
            pass


class Job:
    """What the engine asks of a shim, read as one JSON object (see ``ShimJob`` in monitor.py)."""

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


def main() -> int:
    """Started as a spare: daemonize at once, then wait on stdin for the job.

    The engine keeps one spare shim warm, so a container start does not wait for a
    Python interpreter to boot. EOF on stdin (the engine went away) ends a spare quietly.
    The ready report goes to stdout.
    """
    if os.fork() != 0:  # the engine reaps this parent at once; the shim lives on
        os._exit(0)
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    line = sys.stdin.readline()
    if not line.strip():
        return 0
    job = Job(json.loads(line))
    os.chdir(job.bundle)  # the engine recognises its shim by this working directory
    errors = os.open("shim.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(errors, 2)
    os.close(errors)
    ready = sys.stdout
    shim = Shim(job)
    try:
        shim.listen()
        if job.exec_process:
            ready.write(json.dumps({"ok": True, "listening": True}) + "\n")
            ready.flush()
            shim.wait_for_start()
        shim.create()
        for data in shim.pending_stdin:
            shim.handle_message(STDIN, data)
        shim.serve()
    except Exception as exc:
        ready.write(json.dumps({"ok": False, "error": str(exc)}) + "\n")
        ready.close()
        return 1
    ready.write(json.dumps({"ok": True, "shim_pid": os.getpid(), "pid": shim.init_pid}) + "\n")
    ready.close()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    status = shim.run()
    shim.finish(status)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--server"]:
        # shim_server.py lies beside this file, and a script's directory is sys.path[0]
        server = importlib.import_module("shim_server")
        sys.exit(server.serve_spares(socket.socket(fileno=int(sys.argv[2])), main))
    sys.exit(main())
