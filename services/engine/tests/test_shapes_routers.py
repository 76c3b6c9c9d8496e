"""The routers build each option record from the request and pass it on unchanged."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from pathlib import Path
from typing import Any, BinaryIO, cast

import httpx
from fastapi import FastAPI
from wharf_engine.api import errors
from wharf_engine.api.routers import build, containers, images
from wharf_engine.build.output import BuildOutput
from wharf_engine.shapes import BuildOptions, CommitOptions, CreateOptions, CreateResponse, StopOptions


class Recorder:
    """The backend methods these routes call; each records what it was given."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.calls: list[tuple[str, Any]] = []

    async def container_commit(self, ref: str, options: CommitOptions) -> str:
        self.calls.append(("commit", (ref, options)))
        return "sha256:" + "f" * 64

    async def container_create(self, options: CreateOptions) -> CreateResponse:
        self.calls.append(("create", options))
        return {"Id": "c" * 64, "Warnings": []}

    async def container_stop(self, ref: str, options: StopOptions) -> None:
        self.calls.append(("stop", (ref, options)))

    async def build_receive_context(self, stream: BinaryIO) -> Path:
        await asyncio.to_thread(stream.read)  # the body reader blocks: read off the event loop
        return self.tmp

    async def build_fetch_remote(self, url: str) -> Path:
        raise AssertionError("not used")

    def build_check(self, context: Path, dockerfile: str) -> None:
        self.calls.append(("check", dockerfile))

    async def image_build(self, context: Path, options: BuildOptions, output: BuildOutput) -> str:
        self.calls.append(("build", options))
        return "sha256:" + "b" * 64

    def build_cleanup(self, context: Path) -> None: ...


def send(recorder: Recorder, method: str, path: str, **kwargs: Any) -> httpx.Response:
    app = FastAPI()
    errors.install(app)
    app.include_router(images.commit_router(cast(images.ImageBackend, recorder)))
    app.include_router(containers.router(cast(containers.ContainerBackend, recorder)))
    app.include_router(build.router(recorder))

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://engine") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def test_commit_options_come_from_the_query_and_the_body(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    query = "container=web&repo=me/app&tag=v1&comment=c&author=a&pause=0&changes=CMD%20sh&changes=ENV%20A=1"
    response = send(recorder, "POST", f"/commit?{query}", json={"Cmd": ["sh"]})
    assert response.status_code == 201 and response.json() == {"Id": "sha256:" + "f" * 64}
    expected = CommitOptions(
        repo="me/app",
        tag="v1",
        comment="c",
        author="a",
        pause=False,
        changes=["CMD sh", "ENV A=1"],
        config={"Cmd": ["sh"]},
    )
    assert recorder.calls == [("commit", ("web", expected))]


def test_commit_without_a_body_pauses_and_overrides_nothing(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    assert send(recorder, "POST", "/commit?container=web").status_code == 201
    assert recorder.calls == [("commit", ("web", CommitOptions()))]


def test_commit_with_a_config_of_the_wrong_type_is_400(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    response = send(recorder, "POST", "/commit?container=web", json={"Cmd": 1})
    assert response.status_code == 400 and "ContainerConfig field Cmd" in response.json()["message"]
    assert recorder.calls == []


def test_create_splits_the_body_into_config_host_config_and_networking(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    body = {
        "Image": "busybox",
        "HostConfig": {"NetworkMode": "back"},
        "NetworkingConfig": {"EndpointsConfig": {"back": {"Aliases": ["db"]}}},
    }
    assert send(recorder, "POST", "/containers/create?name=db", json=body).status_code == 201
    expected = CreateOptions(
        config={"Image": "busybox"},
        host_config={"NetworkMode": "back"},
        networking={"EndpointsConfig": {"back": {"Aliases": ["db"]}}},
        name="db",
    )
    assert recorder.calls == [("create", expected)]


def test_create_with_null_host_config_gets_an_empty_one(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    body = {"Image": "busybox", "HostConfig": None}
    assert send(recorder, "POST", "/containers/create", json=body).status_code == 201
    assert recorder.calls == [("create", CreateOptions(config={"Image": "busybox"}))]


def test_stop_options_default_to_the_containers_own(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    assert send(recorder, "POST", "/containers/web/stop").status_code == 204
    assert recorder.calls == [("stop", ("web", StopOptions()))]


def test_build_options_come_from_the_query(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w"):
        pass
    query = "t=web&t=web:2&dockerfile=Other&nocache=1&rm=0&buildargs=" + json.dumps({"A": "1", "B": None})
    response = send(recorder, "POST", f"/build?{query}", content=context.getvalue())
    assert response.status_code == 200
    expected = BuildOptions(
        dockerfile="Other",
        tags=["web:latest", "web:2"],  # familiar names, the default tag added
        nocache=True,
        rm=False,
        buildargs={"A": "1", "B": None},
    )
    assert recorder.calls == [("check", "Other"), ("build", expected)]
