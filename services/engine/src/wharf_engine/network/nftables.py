"""libnftables through ctypes: nft commands on one netlink socket that lives as long as this object.

The socket matters: a table made with ``flags owner`` belongs to it, and the kernel deletes
the table when the socket closes, which is when the engine exits, however it exits.
"""

from __future__ import annotations

import ctypes
import threading

from wharf_common.errors import SystemFault

LIBRARY = "libnftables.so.1"


class NftablesError(SystemFault):
    pass


class Nftables:
    """A libnftables context; ``run`` is serialized, so it may be called from worker threads."""

    def __init__(self) -> None:
        try:
            lib = ctypes.CDLL(LIBRARY, use_errno=True)
        except OSError as exc:
            raise NftablesError(f"{LIBRARY}: {exc}") from None
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        for name in ("nft_ctx_buffer_output", "nft_ctx_buffer_error"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
        for name in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
            getattr(lib, name).restype = ctypes.c_char_p
        ctx = lib.nft_ctx_new(0)  # NFT_CTX_DEFAULT: opens the netlink socket now
        if not ctx:
            raise NftablesError("nft_ctx_new failed")
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)
        self._lib = lib
        self._ctx: int | None = ctx
        self._lock = threading.Lock()

    def run(self, commands: str) -> str:
        """Run ``commands`` (nft syntax, one transaction); return nft's output or raise its error."""
        with self._lock:
            if self._ctx is None:
                raise NftablesError("nftables context is closed")
            failed = self._lib.nft_run_cmd_from_buffer(self._ctx, commands.encode())
            output = (self._lib.nft_ctx_get_output_buffer(self._ctx) or b"").decode(errors="replace")
            error = (self._lib.nft_ctx_get_error_buffer(self._ctx) or b"").decode(errors="replace")
        if failed:
            raise NftablesError(f"nft: {error.strip() or 'failed'}")
        return output

    def close(self) -> None:
        """Close the socket: tables it owns go with it."""
        with self._lock:
            if self._ctx is not None:
                self._lib.nft_ctx_free(self._ctx)
                self._ctx = None
