"""A streamed request body sent straight to the socket: the ``PATCH`` that carries a pushed layer.

httpx frames every chunk of a streamed body by joining it to its chunk-size line (a copy of each
byte), and asyncio's transport copies again what the socket does not take at once. For the one
request of a push that carries a layer, to a plain-http registry reached without a proxy, the
engine sends it itself: h11 frames the chunks without joining them
(``send_with_data_passthrough``), and ``socket.sendmsg`` hands the pieces to the kernel as they
are, the loop waiting for the socket to be writable when it is full. The answer is read with
h11 (a registry that answers early, before the body is all sent, is heard) and comes back as an
``httpx.Response``, read as any other. TLS, a proxy, or a transport given for tests: httpx sends.
"""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import AsyncIterable, Mapping, Sequence
from typing import cast

import h11
import httpx

READ_SIZE = 64 << 10


class StreamFailed(Exception):
    """The registry could not be reached, or went away before it answered."""


def sendable(url: httpx.URL) -> bool:
    """Whether :func:`send_streamed` may carry a request to ``url``: plain http, no proxy for it
    in the environment (httpx honours ``HTTP_PROXY``/``ALL_PROXY`` and ``NO_PROXY`` there)."""
    if url.scheme != "http" or not url.host:
        return False
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get("http") or proxies.get("all")):
        return True
    return bool(urllib.request.proxy_bypass(url.host))  # (NO_PROXY, from the environment on Linux)


async def send_streamed(
    method: str,
    url: httpx.URL,
    headers: Mapping[str, str],
    body: AsyncIterable[bytes | bytearray],
    *,
    timeout: httpx.Timeout,
) -> httpx.Response:
    """``method url`` with ``body`` as a chunked stream; the registry's answer, its body read."""
    loop = asyncio.get_running_loop()
    sock = await _connect(loop, url, timeout.connect)
    try:
        conn = h11.Connection(h11.CLIENT)
        fields = [("Host", url.netloc.decode("ascii")), *headers.items()]
        fields += [("Transfer-Encoding", "chunked"), ("Connection", "close")]
        head = conn.send(h11.Request(method=method, target=url.raw_path, headers=fields))
        try:
            await _send_all(loop, sock, [head or b""], timeout.write)
            async for chunk in body:
                if chunk:  # (a bytearray is as good as bytes to h11, which passes it through)
                    framed = conn.send_with_data_passthrough(h11.Data(data=cast("bytes", chunk)))
                    await _send_all(loop, sock, framed or (), timeout.write)
            await _send_all(loop, sock, [conn.send(h11.EndOfMessage()) or b""], timeout.write)
        except _Answered:  # a refusal, before the body was all sent
            return await _answer(loop, sock, conn, method, url, timeout.read)
        except OSError as exc:  # the registry may have answered (and closed) before taking it all
            return await _answer(loop, sock, conn, method, url, timeout.read, cut=exc)
        return await _answer(loop, sock, conn, method, url, timeout.read)
    finally:
        sock.close()


async def _connect(loop: asyncio.AbstractEventLoop, url: httpx.URL, timeout: float | None) -> socket.socket:
    port = url.port or 80
    error: OSError | TimeoutError = OSError(f"no address for {url.host}")
    try:
        async with asyncio.timeout(timeout):
            addresses = await loop.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        raise StreamFailed(f"cannot resolve {url.host}: {exc}") from None
    for family, kind, proto, _name, address in addresses:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            async with asyncio.timeout(timeout):
                await loop.sock_connect(sock, address)
            return sock
        except (OSError, TimeoutError) as exc:
            sock.close()
            error = exc
    raise StreamFailed(f"cannot connect to {url.netloc.decode('ascii')}: {error or 'timed out'}")


async def _send_all(
    loop: asyncio.AbstractEventLoop,
    sock: socket.socket,
    pieces: Sequence[bytes | bytearray | memoryview],
    timeout: float | None,
) -> None:
    """Every byte of ``pieces``, in order, with as few ``sendmsg`` calls as the socket allows."""
    views = [memoryview(piece) for piece in pieces if len(piece)]
    while views:
        try:
            sent = sock.sendmsg(views)
        except BlockingIOError:
            await _writable(loop, sock.fileno(), timeout)
            continue
        while views and sent >= len(views[0]):
            sent -= len(views.pop(0))
        if sent:
            views[0] = views[0][sent:]


async def _writable(loop: asyncio.AbstractEventLoop, fd: int, timeout: float | None) -> None:
    """Wait until the socket takes more; :class:`_Answered` if the registry speaks first."""
    ready: asyncio.Future[bool] = loop.create_future()

    def wake(readable: bool) -> None:
        if not ready.done():
            ready.set_result(readable)

    loop.add_writer(fd, wake, False)
    loop.add_reader(fd, wake, True)
    try:
        async with asyncio.timeout(timeout):
            answered = await ready
    except TimeoutError:
        raise StreamFailed("timed out sending") from None
    finally:
        loop.remove_writer(fd)
        loop.remove_reader(fd)
    if answered:
        raise _Answered()


class _Answered(Exception):
    """The registry answered (or closed) before the body was all sent: read what it said."""


async def _answer(
    loop: asyncio.AbstractEventLoop,
    sock: socket.socket,
    conn: h11.Connection,
    method: str,
    url: httpx.URL,
    timeout: float | None,
    *,
    cut: OSError | None = None,
) -> httpx.Response:
    head: h11.Response | None = None
    content = bytearray()
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                async with asyncio.timeout(timeout):
                    conn.receive_data(await loop.sock_recv(sock, READ_SIZE))
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                content += event.data
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
    except (OSError, TimeoutError, h11.RemoteProtocolError) as exc:
        reason = cut or exc
        raise StreamFailed(f"no answer: {reason or 'timed out'}") from None
    if head is None:
        raise StreamFailed(f"no answer: {cut or 'the connection closed'}")
    return httpx.Response(
        head.status_code,
        headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in head.headers],
        content=bytes(content),
        request=httpx.Request(method, url),
    )


__all__ = ["StreamFailed", "send_streamed", "sendable"]
