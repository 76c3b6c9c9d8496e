"""``wharf_client.lean`` against the standard modules it stands in for, and the unix socket on ``_socket``."""

from __future__ import annotations

import json
import os
import pickle
import socket
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from wharf_client import lean
from wharf_client._http import UnixSocket

DOCUMENTS = [
    b'{"Id": "abc", "Names": ["/web"], "Ports": [], "Labels": {}, "SizeRw": 12, "Ok": true, "X": null}',
    b" [1, -2, 3.5, 1e3, -0.0, 12345678901234567890] \n",
    b'"caf\\u00e9 \\ud83d\\ude00 \\n"',
    '{"é": "ü", "k": "\u2603"}'.encode(),
    b"NaN",
    b"-Infinity",
    b"[]",
    '  {"a": 1}\r\n',
]
MALFORMED = [b"", b" ", b"{", b"[1,]", b"[1] x", b"\xff\xfe", b"nul", b'{"a" 1}', b'"\x01"', "\ufeff[1]"]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_loads_matches_json(document: bytes | str) -> None:
    assert repr(lean.loads(document)) == repr(json.loads(document))


@pytest.mark.parametrize("document", MALFORMED)
def test_loads_fails_as_json_does(document: bytes | str) -> None:
    with pytest.raises(ValueError) as expected:
        json.loads(document)
    with pytest.raises(ValueError) as got:
        lean.loads(document)
    assert type(got.value) is type(expected.value)
    assert str(got.value) == str(expected.value)


def test_loads_utf16_goes_to_the_package() -> None:
    document = '{"a": "b"}'.encode("utf-16")
    assert lean.loads(document) == json.loads(document) == {"a": "b"}


VALUES: list[object] = [
    {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"AutoRemove": True, "Memory": 0}, "Env": None},
    'caf\u00e9 \u2603 "quoted" \n',
    [1, 2.5, -0.0, float("inf"), float("nan"), 10**30],
    {1: "int key", 2.5: "float key", None: "null key", False: "bool key"},
    (1, 2),
    [],
    {},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("separators", [(", ", ": "), (",", ":")])
def test_dumps_matches_json(value: object, ensure_ascii: bool, separators: tuple[str, str]) -> None:
    expected = json.dumps(value, ensure_ascii=ensure_ascii, separators=separators)
    assert lean.dumps(value, ensure_ascii=ensure_ascii, separators=separators) == expected


def test_dumps_fails_as_json_does() -> None:
    circular: list[object] = []
    circular.append(circular)
    for value in ({"a": object()}, circular, {"k": {1, 2}}):
        with pytest.raises((TypeError, ValueError)) as expected:
            json.dumps(value)
        with pytest.raises((TypeError, ValueError)) as got:
            lean.dumps(value)
        assert (type(got.value), str(got.value)) == (type(expected.value), str(expected.value))
    assert lean.dumps([1]) == "[1]"  # nothing is left behind by a failed call


class Plain(lean.NamedTuple):
    """A record."""

    scheme: str
    address: str
    port: int = 0
    tls: object | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}:{self.port}"

    def double(self) -> int:
        return self.port * 2


class Typed(typing.NamedTuple):
    """A record."""

    scheme: str
    address: str
    port: int = 0
    tls: object | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}:{self.port}"

    def double(self) -> int:
        return self.port * 2


def test_named_tuple_behaves_as_typing_named_tuple() -> None:
    ours, theirs = Plain("tcp", "h", 2375), Typed("tcp", "h", 2375)
    assert tuple(ours) == tuple(theirs) == ("tcp", "h", 2375, None)
    assert repr(ours) == repr(theirs).replace("Typed", "Plain")
    assert ours.url == theirs.url and ours.double() == theirs.double() == 4750
    assert tuple(ours._replace(port=1)) == tuple(theirs._replace(port=1)) == ("tcp", "h", 1, None)
    assert ours._asdict() == theirs._asdict()
    assert Plain._fields == Typed._fields and Plain.__match_args__ == Typed.__match_args__
    assert Plain._field_defaults == Typed._field_defaults == {"port": 0, "tls": None}
    assert Plain.__doc__ == Typed.__doc__ == "A record."
    assert list(Plain.__annotations__) == list(Typed.__annotations__)  # typing wraps them in ForwardRef
    assert Plain._make(["unix", "/s", 0, None]) == Plain("unix", "/s")
    assert Plain(address="a", scheme="unix") == ("unix", "a", 0, None)
    assert pickle.loads(pickle.dumps(ours)) == ours
    assert hash(ours) == hash(tuple(ours)) and isinstance(ours, tuple)
    assert Plain.__module__ == __name__ and Plain.__qualname__ == "Plain"
    with pytest.raises(AttributeError):
        ours.port = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ours.extra = 3  # type: ignore[attr-defined]
    for record in (Plain, Typed):
        with pytest.raises(TypeError, match=r"__new__\(\) missing 1 required positional argument: 'address'"):
            record("tcp")  # type: ignore[call-arg]
        with pytest.raises(ValueError, match="Got unexpected field names"):
            record("a", "b")._replace(nope=1)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="Expected 4 arguments, got 1"):
            record._make(["a"])


class OneField(lean.NamedTuple):
    only: int


class TypedOneField(typing.NamedTuple):
    only: int


def test_named_tuple_is_made_as_collections_makes_it() -> None:
    """Without importing collections: the same generated methods, docstrings and field accessors."""
    for ours, theirs in ((Plain, Typed), (OneField, TypedOneField)):
        name, other = ours.__name__, theirs.__name__
        for attr in ("__new__", "_make", "_replace", "__repr__", "_asdict", "__getnewargs__"):
            mine, typed = getattr(ours, attr), getattr(theirs, attr)
            assert mine.__qualname__ == typed.__qualname__.replace(other, name)
            assert (mine.__doc__ or "") == (typed.__doc__ or "").replace(other, name)
        assert ours.__new__.__defaults__ == theirs.__new__.__defaults__
        assert ours.__new__.__code__.co_varnames == theirs.__new__.__code__.co_varnames
        for field in ours._fields:
            assert getattr(ours, field).__doc__ == getattr(theirs, field).__doc__
            assert type(getattr(ours, field)) is type(getattr(theirs, field))
        assert ours.__dict__["__slots__"] == theirs.__dict__["__slots__"] == ()
    assert OneField.__doc__ == "OneField(only,)" and repr(OneField(1)) == "OneField(only=1)"
    with pytest.raises(ValueError, match="Field names cannot start with an underscore: '_hidden'"):

        class Hidden(lean.NamedTuple):
            _hidden: int  # type: ignore[misc]


def test_named_tuple_refuses_what_typing_refuses() -> None:
    with pytest.raises(TypeError, match="Non-default namedtuple field b cannot follow default field a"):

        class Bad(lean.NamedTuple):
            a: int = 0
            b: int  # type: ignore[misc]

    with pytest.raises(AttributeError, match="Cannot overwrite NamedTuple attribute _replace"):

        class Worse(lean.NamedTuple):
            a: int

            def _replace(self) -> None: ...  # type: ignore[misc]


def test_unix_socket_reader_keeps_the_descriptor_until_closed(tmp_path: Path) -> None:
    """As ``socket.socket``: closing the socket while its reader is open closes the fd with the reader."""
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        client = UnixSocket()
        client.connect(path)
        peer, _ = server.accept()
        with peer:
            reader = client.makefile("rb")
            fd = client.fileno()
            peer.sendall(b"line one\nrest")
            assert reader.readline() == b"line one\n"
            client.close()
            os.fstat(fd)  # still open: the reader holds it
            peer.shutdown(socket.SHUT_WR)
            assert reader.read() == b"rest"
            reader.close()
            assert client.fileno() == -1
            with pytest.raises(ValueError):
                client.makefile("r")  # type: ignore[arg-type]


def test_importing_the_client_loads_none_of_the_costly_modules() -> None:
    code = (
        "import sys, wharf_client, wharf_client.lean\n"
        "costly = {'typing', 're', 'enum', 'functools', 'collections', 'json', 'socket', 'base64'}\n"
        "print(sorted(costly & {name.split('.')[0] for name in sys.modules}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
