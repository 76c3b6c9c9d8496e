"""docker-py 7 against a wharf engine: the calls scripts make most."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest
from docker.errors import APIError, ContainerError, ImageNotFound, NotFound
from engines import Engine

pytestmark = [pytest.mark.root]


@pytest.fixture
def client(engine: Engine) -> Iterator[docker.DockerClient]:
    c = docker.DockerClient(base_url=engine.host, version="auto")
    yield c
    c.close()


def test_run_returns_output(client: docker.DockerClient) -> None:
    assert client.containers.run("busybox", ["echo", "hello world"], remove=True) == b"hello world\n"


def test_run_failure_raises_container_error_with_stderr(client: docker.DockerClient) -> None:
    with pytest.raises(ContainerError) as info:
        client.containers.run("busybox", ["sh", "-c", "echo oops >&2; exit 3"], remove=True)
    assert info.value.exit_status == 3
    assert b"oops" in info.value.stderr


def test_detached_lifecycle(client: docker.DockerClient) -> None:
    container = client.containers.run(
        "busybox", ["sh", "-c", "echo ready; sleep 60"], detach=True, name="pyd"
    )
    try:
        container.reload()
        assert container.status == "running"
        assert container.name == "pyd"
        assert client.containers.get("pyd").id == container.id
        container.stop(timeout=1)
        assert container.wait()["StatusCode"] == 137
        assert container.logs() == b"ready\n"
        assert [c.id for c in client.containers.list(all=True, filters={"name": "pyd"})] == [container.id]
    finally:
        container.remove(force=True)
    with pytest.raises(NotFound):
        client.containers.get("pyd")


def test_images_api(client: docker.DockerClient) -> None:
    image = client.images.get("busybox")
    assert "busybox:latest" in image.tags
    image.tag("pytag", "one")
    assert client.images.get("pytag:one").id == image.id
    client.images.remove("pytag:one")
    with pytest.raises(ImageNotFound):
        client.images.get("pytag:one")
    assert any("busybox:latest" in i.tags for i in client.images.list())


def test_version_and_ping(client: docker.DockerClient) -> None:
    assert client.ping() is True
    assert client.version()["ApiVersion"] >= "1.44"
    with pytest.raises(APIError):
        client.containers.create("busybox", [], entrypoint=[""])
