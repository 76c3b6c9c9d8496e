"""OpenSSL's ``SSL_MODE_NO_AUTO_CHAIN`` for an ``ssl.SSLContext``: a server sends the certificates it
loaded, no more. Python's ``ssl`` has no setter for OpenSSL's modes, so this reaches the context's
``SSL_CTX`` through ``ctypes``, checked before it is touched.

Why: when the server's certificate file holds only its own certificate, OpenSSL builds the chain it
sends from the trust store on every handshake (a chain verification, signature check included), and
sends the self-signed root with it. Loading the chain instead (``wharf_engine.certs.server_chain``)
saves the server that work, but the root still goes out, and it costs every client: Go's verifier (the
docker CLI) takes the root it was sent as an intermediate too and checks the leaf's signature once
more against it, and parses it, on each of the three handshakes of a ``docker run``. No client needs
the root: one that checks the server has it already. With this mode set, the server sends its leaf and
intermediates only, and builds nothing per handshake.

The ``SSL_CTX`` pointer is the first field after the object header of CPython's ``PySSLContext`` (so
since Python 3.0). Before setting anything, the pointer must give back the context's options,
verify mode and security level as Python sees them; if anything does not match (another Python
implementation or layout, a ``libssl`` without these functions), nothing is changed and
:func:`send_loaded_chain_only` says so: the caller then loads the root too, as before.
"""

from __future__ import annotations

import ctypes
import ssl
import sys

SSL_CTRL_MODE = 33  # SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, bits, NULL) adds mode bits, returns the mode
SSL_MODE_NO_AUTO_CHAIN = 0x8
VERIFY_MODES = {ssl.CERT_NONE: 0, ssl.CERT_OPTIONAL: 1, ssl.CERT_REQUIRED: 3}  # SSL_VERIFY_* bits


def _libssl() -> ctypes.CDLL | None:
    """The ``libssl`` Python's ``_ssl`` is linked to (a symbol looked up in ``_ssl``'s handle resolves in
    its dependencies), with the four functions typed; None without them."""
    import _ssl

    try:
        lib = ctypes.CDLL(getattr(_ssl, "__file__", None))  # None: _ssl is built into the interpreter
        lib.SSL_CTX_ctrl.restype = ctypes.c_long
        lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
        lib.SSL_CTX_get_options.restype = ctypes.c_uint64
        lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
        lib.SSL_CTX_get_verify_mode.restype = ctypes.c_int
        lib.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
        lib.SSL_CTX_get_security_level.restype = ctypes.c_int
        lib.SSL_CTX_get_security_level.argtypes = [ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    return lib


def _ssl_ctx(context: ssl.SSLContext, lib: ctypes.CDLL) -> int | None:
    """The ``SSL_CTX *`` of ``context``, if it answers as ``context`` does; None otherwise."""
    if sys.implementation.name != "cpython" or not isinstance(context, ssl.SSLContext):
        return None
    pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    if not pointer:
        return None
    same = (
        lib.SSL_CTX_get_options(pointer) == int(context.options)
        and lib.SSL_CTX_get_verify_mode(pointer) == VERIFY_MODES[context.verify_mode]
        and lib.SSL_CTX_get_security_level(pointer) == context.security_level
    )
    return pointer if same else None


def send_loaded_chain_only(context: ssl.SSLContext) -> bool:
    """Set ``SSL_MODE_NO_AUTO_CHAIN`` on ``context``; True if it is set (call it before loading the
    certificates: it says what to load). Without it, nothing is changed and OpenSSL builds the chain."""
    lib = _libssl()
    pointer = _ssl_ctx(context, lib) if lib is not None else None
    if pointer is None or lib is None:
        return False
    mode = lib.SSL_CTX_ctrl(pointer, SSL_CTRL_MODE, SSL_MODE_NO_AUTO_CHAIN, None)
    return bool(mode & SSL_MODE_NO_AUTO_CHAIN)


__all__ = ["send_loaded_chain_only"]
