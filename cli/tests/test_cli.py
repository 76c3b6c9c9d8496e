import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner
from wharf_cli.main import create_app, main, requested_command
from wharf_client import STDERR, STDOUT, encode_frame
from wharf_client.testing import FakeEngine, FakeRequest, Reply, write_upgrade

CID = "4f1d2c3b5a6e" + "0" * 52
runner = CliRunner()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    with FakeEngine(tmp_path / "engine.sock") as fake:
        yield fake


def wharf(engine: FakeEngine, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(create_app(), ["-H", engine.url, *args], input=input)


def test_requested_command_skips_global_options() -> None:
    assert requested_command(["-H", "unix:///x", "ps", "-a"]) == "ps"
    assert requested_command(["--host", "x", "run", "busybox"]) == "run"
    assert requested_command(["--help"]) is None


def test_ps_prints_docker_table(engine: FakeEngine) -> None:
    now = int(time.time())
    container = {
        "Id": CID,
        "Names": ["/web"],
        "Image": "busybox",
        "Command": "sh -c 'while true; do sleep 1; done'",
        "Created": now - 125,
        "Ports": [],
        "State": "running",
        "Status": "Up 2 minutes",
    }
    engine.route("GET", "/containers/json", lambda req: Reply.json([container]))
    result = wharf(engine, "ps")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS         PORTS     NAMES",
        '4f1d2c3b5a6e   busybox   "sh -c \'while true; …"   2 minutes ago   Up 2 minutes             web',
    ]
    assert wharf(engine, "ps", "-q", "--no-trunc").stdout == CID + "\n"
    formatted = wharf(engine, "ps", "--format", "table {{.Names}}\\t{{.State}}")
    assert formatted.stdout.splitlines() == ["NAMES     STATE", "web       running"]
    wharf(engine, "ps", "-a", "-n", "2", "-f", "status=exited", "-f", "name=web")
    query = engine.requests_to("/containers/json")[-1].query
    assert query["all"] == ["1"] and query["limit"] == ["2"]
    assert json.loads(query["filters"][0]) == {"status": ["exited"], "name": ["web"]}


def test_ps_empty_prints_header_only(engine: FakeEngine) -> None:
    engine.route("GET", "/containers/json", lambda req: Reply.json([]))
    assert wharf(engine, "ps").stdout == (
        "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
    )


def _created(engine: FakeEngine) -> None:
    engine.route("POST", "/containers/create", lambda req: Reply.json({"Id": CID, "Warnings": []}, 201))
    engine.route("POST", "/containers/[^/]+/start", lambda req: Reply(204))


def test_run_detached_passes_command_arguments_untouched(engine: FakeEngine) -> None:
    _created(engine)
    result = wharf(engine, "run", "-d", "--name", "x", "-e", "A=1", "busybox", "ls", "-la", "--color", "-e")
    assert result.exit_code == 0, result.output
    assert result.stdout == CID + "\n"
    body = engine.requests_to("/containers/create")[0].json()
    assert body["Cmd"] == ["ls", "-la", "--color", "-e"]
    assert body["Env"] == ["A=1"]
    assert not body["AttachStdout"]
    assert engine.requests_to("/containers/create")[0].param("name") == "x"
    assert len(engine.requests_to(f"/containers/{CID}/start")) == 1


def test_run_attached_streams_output_and_exits_with_status(engine: FakeEngine) -> None:
    _created(engine)
    started = threading.Event()

    def start(req: FakeRequest) -> Reply:
        started.set()
        return Reply(204)

    engine.route("POST", "/containers/[^/]+/start", start)

    def attach(req: FakeRequest) -> None:
        write_upgrade(req.sock, multiplexed=True)
        started.wait(5)
        req.sock.sendall(encode_frame(STDOUT, b"hello world\n") + encode_frame(STDERR, b"warn\n"))
        req.sock.close()

    def wait(req: FakeRequest) -> Reply:
        def body() -> Iterator[bytes]:
            started.wait(5)
            yield b'{"StatusCode":3}'

        return Reply(200, body(), {"Content-Type": "application/json"})

    engine.route("POST", "/containers/[^/]+/attach", attach)
    engine.route("POST", "/containers/[^/]+/wait", wait)
    result = wharf(engine, "run", "--rm", "busybox", "echo", "hello", "world")
    assert result.exit_code == 3, result.output
    assert result.stdout == "hello world\n"
    assert result.stderr == "warn\n"
    order = [r.path.rsplit("/", 1)[-1] for r in engine.requests if r.path != "/_ping"]
    assert order == ["create", "attach", "wait", "start"]
    assert engine.requests_to(f"/containers/{CID}/wait")[0].param("condition") == "removed"
    assert engine.requests_to("/containers/create")[0].json()["HostConfig"]["AutoRemove"] is True


def test_run_missing_image_reports_unable_to_find_and_the_pull_error(engine: FakeEngine) -> None:
    engine.route("POST", "/containers/create", lambda req: Reply.error(404, "No such image: nope:latest"))
    denied = "pull access denied for nope, repository does not exist or may require 'docker login'"
    engine.route("POST", "/images/create", lambda req: Reply.error(404, denied))
    result = wharf(engine, "run", "nope")
    assert result.exit_code == 125
    assert result.stderr.startswith("Unable to find image 'nope:latest' locally\n")
    assert f"Error response from daemon: {denied}" in result.stderr
    assert engine.requests_to("/images/create")[0].param("fromImage") == "nope"


def test_run_pulls_a_missing_image_then_creates_it(engine: FakeEngine) -> None:
    creates: list[int] = []

    def create(req: FakeRequest) -> Reply:
        creates.append(1)
        if len(creates) == 1:
            return Reply.error(404, "No such image: busybox:latest")
        return Reply.json({"Id": CID, "Warnings": []}, 201)

    progress = [
        {"status": "Pulling from library/busybox", "id": "latest"},
        {"status": "Pull complete", "id": "abc123", "progressDetail": {}},
        {"status": "Status: Downloaded newer image for busybox:latest"},
    ]
    body = [json.dumps(line).encode() + b"\n" for line in progress]
    engine.route("POST", "/containers/create", create)
    engine.route("POST", "/images/create", lambda req: Reply(200, body))
    engine.route("POST", "/containers/[^/]+/start", lambda req: Reply(204))
    result = wharf(engine, "run", "-d", "busybox")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == CID + "\n"
    assert result.stderr.splitlines() == [
        "Unable to find image 'busybox:latest' locally",
        "latest: Pulling from library/busybox",
        "abc123: Pull complete",
        "Status: Downloaded newer image for busybox:latest",
    ]
    assert len(creates) == 2


def test_run_pull_never_does_not_pull(engine: FakeEngine) -> None:
    engine.route("POST", "/containers/create", lambda req: Reply.error(404, "No such image: nope:latest"))
    result = wharf(engine, "run", "--pull", "never", "nope")
    assert result.exit_code == 125
    assert "Unable to find image" not in result.stderr
    assert not engine.requests_to("/images/create")


def test_create_prints_the_id_without_starting(engine: FakeEngine) -> None:
    _created(engine)
    result = wharf(engine, "create", "--name", "web", "-P", "--link", "db:db", "busybox", "top")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == CID + "\n"
    body = engine.requests_to("/containers/create")[0].json()
    assert body["HostConfig"]["PublishAllPorts"] is True and body["HostConfig"]["Links"] == ["db:db"]
    assert not engine.requests_to("/start")
    assert "--detach" not in wharf(engine, "create", "--help").stdout


def test_run_start_failure_maps_to_127(engine: FakeEngine) -> None:
    _created(engine)
    message = 'exec: "nosuch": executable file not found in $PATH'
    engine.route("POST", "/containers/[^/]+/start", lambda req: Reply.error(400, message))
    result = wharf(engine, "run", "-d", "busybox", "nosuch")
    assert result.exit_code == 127
    assert message in result.stderr


def test_inspect_tries_container_then_image(engine: FakeEngine) -> None:
    engine.route(
        "GET", "/containers/busybox/json", lambda req: Reply.error(404, "No such container: busybox")
    )
    engine.route(
        "GET", "/images/busybox/json", lambda req: Reply.json({"Id": "sha256:1", "Config": {"Env": []}})
    )
    engine.route("GET", "/containers/nope/json", lambda req: Reply.error(404, "No such container: nope"))
    engine.route("GET", "/images/nope/json", lambda req: Reply.error(404, "No such image: nope"))
    result = wharf(engine, "inspect", "busybox")
    assert json.loads(result.stdout) == [{"Id": "sha256:1", "Config": {"Env": []}}]
    assert result.stdout.startswith('[\n    {\n        "Id": "sha256:1",\n        "Config": {\n')
    assert (
        wharf(engine, "inspect", "-f", "{{.Id}} {{json .Config}}", "busybox").stdout
        == 'sha256:1 {"Env":[]}\n'
    )
    missing = wharf(engine, "inspect", "nope")
    assert missing.exit_code == 1
    assert missing.stdout == "[]\n"
    assert missing.stderr == "Error: No such object: nope\n"


def test_logs_split_stdout_and_stderr(engine: FakeEngine) -> None:
    engine.route("GET", "/containers/c/json", lambda req: Reply.json({"Id": CID, "Config": {"Tty": False}}))
    frames = encode_frame(STDOUT, b"out\n") + encode_frame(STDERR, b"err\n")
    engine.route("GET", f"/containers/{CID}/logs", lambda req: Reply(200, [frames]))
    result = wharf(engine, "logs", "--tail", "5", "-t", "c")
    assert (result.stdout, result.stderr) == ("out\n", "err\n")
    query = engine.requests_to(f"/containers/{CID}/logs")[0].query
    assert query["tail"] == ["5"] and query["timestamps"] == ["1"]


def test_rm_reports_each_failure_and_exits_1(engine: FakeEngine) -> None:
    engine.route("DELETE", "/containers/a", lambda req: Reply(204))
    engine.route("DELETE", "/containers/b", lambda req: Reply.error(409, "container b is running"))
    result = wharf(engine, "rm", "-f", "a", "b")
    assert result.exit_code == 1
    assert result.stdout == "a\n"
    assert result.stderr == "Error response from daemon: container b is running\n"
    assert engine.requests_to("/containers/a")[0].param("force") == "1"


def test_images_table_and_tag(engine: FakeEngine) -> None:
    image = {
        "Id": "sha256:" + "a" * 64,
        "RepoTags": ["busybox:latest"],
        "Created": int(time.time()) + 1,  # whole seconds: never a second old by the time it prints
        "Size": 4261550,
    }
    engine.route("GET", "/images/json", lambda req: Reply.json([image]))
    engine.route("POST", "/images/.+/tag", lambda req: Reply(201))
    lines = wharf(engine, "images").stdout.splitlines()
    assert lines[0] == "REPOSITORY   TAG       IMAGE ID       CREATED                  SIZE"
    assert lines[1] == "busybox      latest    aaaaaaaaaaaa   Less than a second ago   4.26MB"
    assert wharf(engine, "tag", "busybox", "localhost:5000/bb:v1").exit_code == 0
    request = engine.requests_to("/images/busybox/tag")[0]
    assert (request.param("repo"), request.param("tag")) == ("localhost:5000/bb", "v1")


def test_import_streams_file_and_prints_id(engine: FakeEngine, tmp_path: Path) -> None:
    (tmp_path / "fs.tar").write_bytes(b"tarball" * 1000)
    engine.route("POST", "/images/create", lambda req: Reply(200, [b'{"status":"sha256:abc"}\n']))
    result = wharf(engine, "import", "-c", 'CMD ["sh"]', str(tmp_path / "fs.tar"), "busybox:1")
    assert result.exit_code == 0, result.output
    assert result.stdout == "sha256:abc\n"
    request = engine.requests_to("/images/create")[0]
    assert request.body == b"tarball" * 1000
    assert (request.param("repo"), request.param("tag"), request.param("changes")) == (
        "busybox",
        "1",
        'CMD ["sh"]',
    )


def test_connection_failure_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-H", f"unix://{tmp_path}/none.sock", "ps"]) == 1
    assert capsys.readouterr().err == (
        f"Cannot connect to the wharf engine at unix://{tmp_path}/none.sock: is the engine running?\n"
    )
