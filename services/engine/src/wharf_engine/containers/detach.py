"""Detach keys: the key sequence on an attach or exec stdin that leaves the process running.

The notation is Docker's (``moby/term.ToBytes``): comma-separated keys, each a single character or
``ctrl-<c>`` for ``c`` in ``@ a-z [ \\ ] ^ _``. The default is ``ctrl-p,ctrl-q``.
"""

from __future__ import annotations

from wharf_common.errors import InvalidArgument

DEFAULT_DETACH_KEYS = b"\x10\x11"
_CTRL = "@abcdefghijklmnopqrstuvwxyz[\\]^_"


def parse_detach_keys(spec: str | None) -> bytes:
    """``ctrl-p,ctrl-q`` → ``b"\\x10\\x11"``; an empty or missing spec is the default."""
    if not spec:
        return DEFAULT_DETACH_KEYS
    codes = bytearray()
    for key in spec.split(","):
        if len(key) == 1 and key.isascii():
            codes.append(ord(key))
        elif len(key) == 6 and key.lower().startswith("ctrl-") and key[5].lower() in _CTRL:
            codes.append(_CTRL.index(key[5].lower()))
        elif key == "DEL":
            codes.append(127)
        else:
            raise InvalidArgument(f"Invalid detach keys ({spec}) provided")
    return bytes(codes)


class EscapeMatcher:
    """Watches a stdin stream for the detach keys, holding back a partly typed sequence.

    As Docker's escape proxy, only keystrokes count: a chunk that is all (the rest of) the
    sequence, not bulk input that happens to contain its bytes.
    """

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = 0  # how many of the keys were seen and held back

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to pass on, whether the sequence is complete)."""
        if not self.keys:
            return data, False
        rest = self.keys[self.held :]
        if data and len(data) <= len(rest) and rest.startswith(data):
            self.held += len(data)
            if self.held == len(self.keys):
                self.held = 0
                return b"", True
            return b"", False
        held, self.held = self.keys[: self.held], 0
        return held + data, False
