"""The json-file log's rotation, as Docker's: ``<log>`` becomes ``<log>.1``, ``.1`` becomes ``.2``...

Stdlib only, like the shim, which loads it only when a container's log first fills (never on
its start path). The oldest file goes; with one file kept, the log starts afresh. Readers
(``logs/jsonfile.py``) open the set of files under a shared flock of the log's directory, and
the rotation holds it exclusively, so no reader sees it half-done.
"""

from __future__ import annotations

import fcntl
import os


def rotate(path: str, keep: int) -> None:
    """Rotate ``path`` keeping ``keep`` files, the live one included; errors leave it as it is."""
    try:
        lock = os.open(os.path.dirname(path) or ".", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if keep > 1:
            for index in range(keep - 1, 1, -1):
                older = f"{path}.{index - 1}"
                if os.path.exists(older):
                    os.replace(older, f"{path}.{index}")
            os.replace(path, f"{path}.1")
        else:
            os.unlink(path)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666))
    except OSError:
        pass  # logging goes on in the file as it is
    finally:
        os.close(lock)
