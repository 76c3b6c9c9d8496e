"""schemathesis against a real engine process, from ``wharf_engine/api/openapi.yaml``.

The engine runs in a temporary root with a bridge of its own and a **fake OCI runtime**
(``--runtime``): a script that refuses to create anything, so no fuzzed container ever runs,
whatever its HostConfig says (privileges, binds, capabilities). Starting a container is then
a 500 whose message is the fake runtime's; that 500, and only that, is expected. Before a
request goes out, :func:`keep_local` makes sure it cannot reach beyond this machine or the
temporary root: registry hosts become a closed loopback port, remote URLs point at it, bind
sources move under the root, and requests that would wait for ever are bounded.

The description must list every route the engine serves: :func:`test_description_lists_every_route`.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import pytest
import schemathesis
import yaml  # type: ignore[import-untyped]
from engines import REPO, Engine, make_engine
from fuzzing import Fuzzer, destructive_last, json_of
from schemathesis import Case, Response
from seed import seed
from wharf_engine.api.routers.swarm import NOT_A_MANAGER, NOT_IN_A_SWARM
from wharf_engine.app import create_app
from wharf_engine.daemon.daemon import Daemon
from wharf_engine.logs.jsonfile import parse_time
from wharf_engine.settings import Settings
from wharf_registry.testing import free_port

pytestmark = [pytest.mark.root, pytest.mark.slow]

SPEC = REPO / "services" / "engine" / "src" / "wharf_engine" / "api" / "openapi.yaml"
NO_RUNTIME = "wharf-fuzz: this engine has no runtime"
CLOSED = "127.0.0.1:9"  # nothing listens on the discard port
FAKE_RUNTIME = f"""#!/bin/sh
# a runtime that runs nothing: create fails (said in runc's JSON log, where the shim reads it),
# and no container exists for the other verbs
log=/dev/null
[ "$1" = --root ] && shift 2
while [ "${{1#-}}" != "$1" ]; do [ "$1" = --log ] && log=$2; shift 2; done
case "$1" in
  create|run|exec|start)
    echo '{{"level":"error","msg":"{NO_RUNTIME}"}}' >>"$log"; echo "{NO_RUNTIME}" >&2 ;;
  *) echo "container does not exist" >&2 ;;
esac
exit 1
"""
# these take over the connection and carry a container's stdio: nothing to fuzz there but
# the parameters, and a container that never runs would hold them open
HIJACKING = {("POST", "/containers/{id}/attach")}

schemathesis.serializer.alias("application/x-tar", "application/octet-stream")  # tar bodies: bytes


@dataclass
class Fixture:
    engine: Engine
    url: str
    container_id: str


@pytest.fixture(scope="module")
def engine(busybox_tar: Path) -> Iterator[Fixture]:
    if os.geteuid() != 0:
        pytest.skip("the engine needs root")
    port = free_port()
    engine = make_engine()
    runtime = engine.root / "fake-runc"
    engine.root.mkdir(parents=True, exist_ok=True)
    runtime.write_text(FAKE_RUNTIME)
    runtime.chmod(0o755)
    engine.extra = ("--runtime", str(runtime), "-H", f"tcp://127.0.0.1:{port}", "--default-index", CLOSED)
    try:
        engine.start()
        seed(str(engine.socket), busybox_tar)
        created = engine.json(
            "POST", "/containers/create?name=fuzzbox", {"Image": "busybox", "Cmd": ["true"]}
        )
        engine.json("POST", "/volumes/create", {"Name": "fuzzvol"})
        yield Fixture(engine, f"http://127.0.0.1:{port}/v1.45", created["Id"])
    finally:
        engine.cleanup()


def engine_error(response: Response) -> str | None:
    body = json_of(response)
    if response.request.method == "HEAD":  # no body to a HEAD
        return None
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]:
        return None
    return 'not {"message": str}'


class EngineFuzzer(Fuzzer):
    def judge(self, response: Response) -> str | None:
        body = json_of(response)
        message = str(body.get("message")) if isinstance(body, dict) else ""
        if response.status_code == 500 and NO_RUNTIME in message:
            return None  # the fake runtime refused to create a container, as it should
        if response.status_code == 503 and CLOSED in message:
            return None  # the registry (a closed port) does not answer: 503, as it should
        if response.status_code == 503 and message in (NOT_A_MANAGER, NOT_IN_A_SWARM):
            return None  # swarm endpoints answer as a Docker node outside a swarm does
        if response.status_code == 400 and len(response.request.url or "") > 60_000 and not body:
            # httptools refuses a request line past 64 KiB before the app sees it, in plain text
            # (uvicorn's "Invalid HTTP request received."): the serving layer's, left to it
            return None
        return super().judge(response)


def with_examples(spec: dict[str, Any], container_id: str) -> dict[str, Any]:
    """Path parameters name the created container, the loaded image and the volume."""
    parameters = spec["components"]["parameters"]
    parameters["containerId"]["example"] = container_id
    parameters["imageName"]["example"] = "busybox"
    parameters["volumeName"]["example"] = "fuzzvol"
    return spec


def local_name(value: Any) -> Any:
    """An image reference whose registry host is this machine's closed port."""
    if not isinstance(value, str) or "/" not in value:
        return value
    host, _, rest = value.partition("/")
    if "." in host or ":" in host or host == "localhost":
        return f"{CLOSED}/{rest}"
    return value


def local_url(value: Any) -> Any:
    return value if not isinstance(value, str) or value in ("", "-") else f"http://{CLOSED}/{quote(value)}"


def bounded_until(value: Any) -> str:
    """``until`` in the past: the events stream ends instead of waiting for the future."""
    now = time.time()
    if isinstance(value, str) and value:
        try:
            when = float(value) if re.fullmatch(r"[-+0-9.eE]+", value) else parse_time(value)
        except ValueError:
            return value  # a bad time: the 400 is what is fuzzed
        if math.isfinite(when) and when < now:
            return value
    return str(int(now) - 1)


def keep_local(root: Path) -> Any:
    def prepare(case: Case[Any]) -> None:
        query = case.query if isinstance(case.query, dict) else None
        path = case.operation.path
        if query is not None:
            for key in ("fromImage", "term"):
                if key in query:
                    query[key] = local_name(query[key])
            for key in ("remote", "fromSrc"):
                if key in query:
                    query[key] = local_url(query[key])
            if path == "/events":
                query["until"] = bounded_until(query.get("until"))
            if path == "/containers/{id}/wait" and query.get("condition") in ("next-exit", "removed"):
                query["condition"] = "not-running"
        if path == "/images/{name}/push" and case.path_parameters:
            case.path_parameters["name"] = local_name(case.path_parameters.get("name"))
        body = case.body
        if path == "/auth" and isinstance(body, dict) and body.get("serveraddress"):
            body["serveraddress"] = f"http://{CLOSED}"
        if (
            path in ("/containers/create", "/commit")
            and isinstance(body, dict)
            and isinstance(body.get("Image"), str)
        ):
            body["Image"] = "busybox"  # past "No such image", to what the engine does with the rest
        if path == "/containers/create" and isinstance(body, dict):
            host_config = body.get("HostConfig")
            binds = host_config.get("Binds") if isinstance(host_config, dict) else None
            if isinstance(host_config, dict) and isinstance(binds, list):
                # a bind's missing source is made at start, as Docker does: under the root
                host_config["Binds"] = [
                    f"{root}/binds{b}" if isinstance(b, str) and b.startswith("/") else b for b in binds
                ]
        if case.headers and "X-Registry-Auth" in case.headers:
            case.headers.pop("X-Registry-Auth")  # it could name a registry elsewhere

    return prepare


# what the fuzzer found, one plain request each (before the fuzzing, which deletes the fixtures)


def test_auth_with_non_ascii_auth_field_is_a_400(engine: Fixture) -> None:
    """``POST /auth {"auth": "\\u0080"}``: base64 of a non-ASCII string raised ValueError, a 500."""
    status, body = engine.engine.request("POST", "/auth", {"auth": "\u0080"})
    assert status == 400, body
    assert json.loads(body)["message"].startswith("invalid X-Registry-Auth")


BUSYBOX = {"Image": "busybox"}
WRONG_SHAPES = [
    ("/containers/create", {**BUSYBOX, "Env": 5}, "Env"),
    ("/containers/create", {**BUSYBOX, "Labels": [1]}, "Labels"),
    ("/containers/create", {**BUSYBOX, "Cmd": 5}, "Cmd"),
    ("/containers/create", {**BUSYBOX, "Volumes": [1]}, "Volumes"),
    ("/containers/create", {**BUSYBOX, "HostConfig": 5}, "HostConfig"),
    ("/containers/create", {**BUSYBOX, "HostConfig": {"Binds": 5}}, "HostConfig.Binds"),
    ("/containers/create", {**BUSYBOX, "HostConfig": {"Memory": "x"}}, "HostConfig.Memory"),
    (
        "/containers/create",
        {"Image": "busybox", "HostConfig": {"RestartPolicy": 5}},
        "HostConfig.RestartPolicy",
    ),
    (
        "/containers/create",
        {"Image": "busybox", "HostConfig": {"PortBindings": {"80/tcp": [5]}}},
        "PortBindings",
    ),
    ("/containers/create", {**BUSYBOX, "HostConfig": {"Ulimits": [5]}}, "HostConfig.Ulimits"),
    ("/volumes/create", {"Labels": True}, "Labels"),
    ("/volumes/create", {"Name": 5}, "Name"),
    ("/commit?container=fuzzbox", {"Env": 5}, "Env"),
    ("/containers/fuzzbox/exec", {"Cmd": 5}, "Cmd"),
]


@pytest.mark.parametrize(
    ("path", "body", "field"), WRONG_SHAPES, ids=[f"{p} {f}" for p, _, f in WRONG_SHAPES]
)
def test_a_body_field_of_the_wrong_type_is_a_400(engine: Fixture, path: str, body: Any, field: str) -> None:
    """Each was a 500 (a TypeError or AttributeError deep in the daemon)."""
    status, answer = engine.engine.request("POST", path, body)
    assert status == 400, answer
    message = json.loads(answer)["message"]
    assert message.startswith("invalid ") and field in message, message


def test_an_exposed_port_that_does_not_parse_is_refused_at_create(engine: Fixture) -> None:
    """``ExposedPorts: {"x": {}}`` was accepted, and every later ``GET /containers/json`` was a 500."""
    body = {"Image": "busybox", "Cmd": ["true"], "ExposedPorts": {"x": {}}}
    status, answer = engine.engine.request("POST", "/containers/create", body)
    assert status == 400 and b"invalid port specification" in answer, answer
    assert engine.engine.request("GET", "/containers/json?all=1")[0] == 200


def test_a_name_filter_that_is_not_a_regular_expression_is_a_400(engine: Fixture) -> None:
    """``filters={"name": ["?"]}`` was re.error ("nothing to repeat"), a 500."""
    status, body = engine.engine.request(
        "GET", "/containers/json?all=1&filters=%7B%22name%22%3A%5B%22%3F%22%5D%7D"
    )
    assert status == 400 and b"invalid filter 'name=?'" in body, body


@pytest.mark.parametrize(
    "path",
    [
        "/images/json?filters=%7B%22dangling%22%3A%5B%5D%7D",  # {"dangling": []}
        "/volumes?filters=%7B%22dangling%22%3A%5B%5D%7D",
        "/volumes?filters=%7B%22dangling%22%3A%7B%22k%22%3Afalse%7D%7D",  # {"dangling": {"k": false}}
    ],
)
def test_a_filter_key_without_values_filters_nothing(engine: Fixture, path: str) -> None:
    """It was ``filters["dangling"][0]``: an IndexError, a 500."""
    status, body = engine.engine.request("GET", path)
    assert status == 200, body


# "²" is a digit to str.isdigit(), not to int()
UNICODE_DIGITS = [
    ("GET", "/containers/fuzzbox/logs?stdout=1&tail=%C2%B2", None, 200),
    ("GET", "/images/search?term=x&limit=%C2%B2", None, 400),
    ("POST", "/containers/create", {**BUSYBOX, "HostConfig": {"CpusetCpus": "\u00b2"}}, 400),
    ("POST", "/containers/create", {**BUSYBOX, "ExposedPorts": {"\u00b2/tcp": {}}}, 400),
    (
        "POST",
        "/containers/create",
        {"Image": "busybox", "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "\u00b2"}]}}},
        400,
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), UNICODE_DIGITS)
def test_unicode_digits_are_not_numbers(
    engine: Fixture, method: str, path: str, body: Any, status: int
) -> None:
    answer = engine.engine.request(method, path, body)
    assert answer[0] == status, answer


def test_engine_answers_fuzzed_requests_without_server_errors(engine: Fixture) -> None:
    spec = destructive_last(with_examples(yaml.safe_load(SPEC.read_text()), engine.container_id))
    for method, path in HIJACKING:
        del spec["paths"][path][method.lower()]
    schema = schemathesis.openapi.from_dict(spec)
    fuzzer = EngineFuzzer(engine.url, engine_error, prepare=keep_local(engine.engine.root))
    failures = fuzzer.run(schema)
    log = "\n".join(engine.engine.log.read_text(errors="replace").splitlines()[-30:])
    assert not failures, "\n\n".join(failures) + "\n\nengine log:\n" + log


def test_description_lists_every_route() -> None:
    """Every route of the engine's app is in openapi.yaml, with the same methods, and no more."""
    spec = yaml.safe_load(SPEC.read_text())
    described = {
        (method.upper(), path) for path, operations in spec["paths"].items() for method in operations
    }
    app = create_app(Settings(), cast(Daemon, object()))  # routes only: no daemon is started
    rename = {"ref": "id", "exec_id": "id"}
    served = {
        (method.upper(), re.sub(r"\{(\w+)\}", lambda m: "{" + rename.get(m[1], m[1]) + "}", path))
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert described == served, (sorted(served - described), sorted(described - served))
