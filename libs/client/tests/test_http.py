import socket
import threading

import pytest
from wharf_client import ProtocolError
from wharf_client._http import Response, iter_json_values


def _response_from(raw: bytes, method: str = "GET") -> Response:
    server, client = socket.socketpair()

    def feed() -> None:
        server.sendall(raw)
        server.close()

    threading.Thread(target=feed, daemon=True).start()
    return Response(client, client.makefile("rb"), method)


def test_chunked_body_is_dechunked() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
    raw = head + b"5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\n\r\n"
    with _response_from(raw) as response:
        assert response.status == 200
        assert response.headers["x-a"] == "1"
        assert response.read() == b"hello!"


def test_content_length_body_and_lines() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\na\nb\nc\ndEXTRA"
    with _response_from(raw) as response:
        assert list(response.iter_lines()) == [b"a", b"b", b"c", b"d"]


def test_head_response_has_no_body() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.44\r\n\r\n"
    with _response_from(raw, "HEAD") as response:
        assert response.read() == b""
        assert response.headers["api-version"] == "1.44"


def test_truncated_chunked_body_raises() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort"
    with _response_from(raw) as response, pytest.raises(ProtocolError):
        response.read()


def test_garbage_status_line_raises() -> None:
    with pytest.raises(ProtocolError):
        _response_from(b"SSH-2.0-OpenSSH\r\n\r\n")


def test_json_stream_handles_concatenation_and_split_utf8() -> None:
    payload = '{"status":"é"}\n{"a":1}{"b":[2]}'.encode()
    chunks = [payload[i : i + 3] for i in range(0, len(payload), 3)]
    assert list(iter_json_values(chunks)) == [{"status": "é"}, {"a": 1}, {"b": [2]}]


def test_json_stream_truncated_raises() -> None:
    with pytest.raises(ProtocolError):
        list(iter_json_values([b'{"a": 1}{"b"']))
