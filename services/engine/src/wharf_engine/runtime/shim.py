"""wharf-shim: keeps one container's stdio, logs and exit code, independent of the engine.

This script only starts the code in ``shim_core.py`` and ``shim_lib.py`` (stdlib C modules only:
every shim's resident memory is the shim server's plus its own, docs/performance.md "Memory"). The
engine runs ``python3 -E -S shim.py --server FD`` once: a shim server that has paid for the
interpreter and the imports, and forks a spare shim whenever the engine asks over the unix socket
FD (``shim_server.py``), so no container waits for Python to boot or pays for it in CPU. A spare
reads its job as one JSON line on stdin. The shim daemonizes (forks once and the parent exits), so
killing or restarting the engine never touches the container. ``python3 -S shim.py`` alone still
runs one spare, without a server.

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

import os
import sys

if __name__ == "__main__":
    # The package's directory (src/ or site-packages) in place of this one, so the shim's modules are
    # wharf_engine.runtime's, imported from their cached bytecode: this script, compiled at every start,
    # stays small. Both __init__.py files are docstrings: nothing else comes in.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from wharf_engine.runtime.shim_core import run

    sys.exit(run(sys.argv[1:]))
