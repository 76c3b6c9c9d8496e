import base64
import io
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from wharf_cli import auth
from wharf_cli.commands.registry.remote import ProgressPrinter, go_duration, progress_text
from wharf_cli.main import create_app
from wharf_client.testing import FakeEngine, FakeRequest, Reply

runner = CliRunner()
PULL: list[dict[str, Any]] = [
    {"status": "Pulling from user/web", "id": "v1"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaa"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbb"},
    {"status": "Downloading", "progressDetail": {"current": 1_200_000, "total": 4_000_000}, "id": "aaa"},
    {"status": "Pull complete", "progressDetail": {}, "id": "aaa"},
    {"status": "Pull complete", "progressDetail": {}, "id": "bbb"},
    {"status": "Digest: sha256:" + "0" * 64},
    {"status": "Status: Downloaded newer image for 127.0.0.1:5000/user/web:v1"},
]


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEngine]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WHARF_CONFIG", str(tmp_path / "wharf"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    with FakeEngine(tmp_path / "engine.sock") as fake:
        yield fake


def wharf(engine: FakeEngine, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(create_app(), ["-H", engine.url, *args], input=input)


def lines(*messages: object) -> Reply:
    return Reply(200, b"".join(json.dumps(m).encode() + b"\n" for m in messages))


def sent_auth(request: FakeRequest) -> object:
    return json.loads(base64.urlsafe_b64decode(request.headers["x-registry-auth"]))


def test_progress_text_matches_dockers_bar() -> None:
    detail = {"current": 1_200_000, "total": 4_000_000}
    assert progress_text(detail, 200) == "[===============>" + " " * 35 + "]    1.2MB/4MB"
    assert progress_text(detail, 80) == "   1.2MB/4MB"
    assert progress_text({}, 200) == ""
    assert progress_text({"current": 5_000_000, "total": 4_000_000}, 80) == "     5MB"
    assert progress_text({"current": 1, "total": 4, "start": 100}, 200, now=101).endswith(" 3s")
    assert [go_duration(s) for s in (0, 42.4, 65, 7201)] == ["0s", "42s", "1m5s", "2h0m1s"]


def test_terminal_redraws_layer_lines_in_place() -> None:
    target = io.StringIO()
    ProgressPrinter(target, terminal=True, width=200).show_all(PULL[:4])
    text = target.getvalue()
    assert text.startswith("v1: Pulling from user/web\n")
    # a new layer opens a line and draws on it; aaa's update goes 2 lines up and comes back
    assert "\n\x1b[1A\x1b[2K\raaa: Pulling fs layer \r\x1b[1B" in text
    assert "\x1b[2A\x1b[2K\raaa: Downloading [===============>" in text and text.endswith("\x1b[2B")


def test_pull_prints_plain_lines_and_sends_stored_auth(engine: FakeEngine) -> None:
    auth.store("127.0.0.1:5000", "alice", "pw")
    engine.route("POST", "/images/create", lambda req: lines(*PULL))
    result = wharf(engine, "pull", "127.0.0.1:5000/user/web:v1")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "v1: Pulling from user/web",
        "aaa: Pulling fs layer",
        "bbb: Pulling fs layer",
        "aaa: Pull complete",
        "bbb: Pull complete",
        "Digest: sha256:" + "0" * 64,
        "Status: Downloaded newer image for 127.0.0.1:5000/user/web:v1",
        "127.0.0.1:5000/user/web:v1",
    ]
    request = engine.requests_to("/images/create")[0]
    assert request.param("fromImage") == "127.0.0.1:5000/user/web" and request.param("tag") == "v1"
    assert sent_auth(request) == {"username": "alice", "password": "pw", "serveraddress": "127.0.0.1:5000"}


def test_pull_defaults_to_latest_and_anonymous(engine: FakeEngine) -> None:
    engine.route("POST", "/images/create", lambda req: lines({"status": "Status: up to date"}))
    result = wharf(engine, "pull", "busybox")
    assert result.stdout.splitlines()[0] == "Using default tag: latest"
    request = engine.requests_to("/images/create")[0]
    assert request.param("tag") == "latest" and sent_auth(request) == {}


def test_stream_error_goes_to_stderr_with_status_1(engine: FakeEngine) -> None:
    engine.route(
        "POST",
        r"/images/.*/push",
        lambda req: lines(
            {"status": "The push refers to repository [h:5000/u/w]"},
            {"errorDetail": {"message": "unauthorized: authentication required"}, "error": "x"},
        ),
    )
    result = wharf(engine, "push", "h:5000/u/w:v1")
    assert result.exit_code == 1
    assert "The push refers to repository [h:5000/u/w]" in result.stdout
    assert result.stderr == "unauthorized: authentication required\n"
    engine.route("POST", r"/images/.*/push", lambda req: Reply.error(404, "No such image: h:5000/u/w:v1"))
    result = wharf(engine, "push", "h:5000/u/w:v1")
    assert result.exit_code == 1
    assert result.stderr == "Error response from daemon: No such image: h:5000/u/w:v1\n"


def test_login_stores_credentials_0600_and_logout_removes_them(engine: FakeEngine, tmp_path: Path) -> None:
    def login(req: FakeRequest) -> Reply:
        if req.json()["password"] == "pw":
            return Reply.json({"Status": "Login Succeeded"})
        return Reply.error(401, "unauthorized: incorrect username or password")

    engine.route("POST", "/auth", login)
    bad = wharf(engine, "login", "-u", "alice", "--password-stdin", "h:5000", input="nope\n")
    assert bad.exit_code == 1 and "incorrect username or password" in bad.stderr
    assert not (tmp_path / "wharf" / "config.json").exists()
    good = wharf(engine, "login", "-u", "alice", "--password-stdin", "h:5000", input="pw\n")
    assert good.exit_code == 0 and good.stdout == "Login Succeeded\n"
    path = tmp_path / "wharf" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {
        "auths": {"h:5000": {"auth": base64.b64encode(b"alice:pw").decode()}}
    }
    assert engine.requests_to("/auth")[-1].json()["serveraddress"] == "h:5000"

    out = wharf(engine, "logout", "http://h:5000/v1/")
    assert out.stdout == "Removing login credentials for h:5000\n"
    assert json.loads(path.read_text()) == {"auths": {}}
    assert wharf(engine, "logout", "h:5000").stdout == "Not logged in to h:5000\n"


def test_login_refuses_conflicting_or_missing_input(engine: FakeEngine) -> None:
    both = wharf(engine, "login", "-u", "a", "-p", "x", "--password-stdin", "h:5000", input="y\n")
    assert both.exit_code == 1 and "--password and --password-stdin are mutually exclusive" in both.stderr
    nouser = wharf(engine, "login", "--password-stdin", "h:5000", input="y\n")
    assert "Must provide --username with --password-stdin" in nouser.stderr
    notty = wharf(engine, "login", "h:5000")
    assert notty.exit_code == 1 and "non TTY device" in notty.stderr
    assert engine.requests_to("/auth") == []


def test_credentials_fall_back_to_dockers_config(engine: FakeEngine, tmp_path: Path) -> None:
    docker = tmp_path / "docker"
    docker.mkdir()
    token = base64.b64encode(b"bob:secret").decode()
    (docker / "config.json").write_text(json.dumps({"auths": {"https://reg.example:443": {"auth": token}}}))
    assert auth.credentials("reg.example:443") == ("bob", "secret")
    assert auth.registry_of("reg.example:443/x/y:1") == "reg.example:443"
    assert auth.registry_of("library/busybox") == auth.DEFAULT_SERVER
    assert auth.auth_config("h:1") == {}


def test_search_table_like_docker(engine: FakeEngine) -> None:
    found = [
        {"name": "user/web", "description": "A web server " * 5, "star_count": 3, "is_official": True},
        {"name": "user/db", "description": "", "star_count": 0, "is_official": False, "is_automated": True},
    ]
    engine.route("GET", "/images/search", lambda req: Reply.json(found))
    result = wharf(engine, "search", "--limit", "5", "h:5000/web")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "NAME       DESCRIPTION                                     STARS     OFFICIAL   AUTOMATED",
        "user/web   A web server A web server A web server A web…   3         [OK]       ",
        "user/db" + " " * 52 + "0                    [OK]",
    ]
    assert engine.requests_to("/images/search")[0].param("limit") == "5"
    full = wharf(engine, "search", "--no-trunc", "--format", "{{.Name}}: {{.Description}}", "h:5000/web")
    assert full.stdout.splitlines()[0] == "user/web: " + "A web server " * 5


def test_default_hub_login_push_pull_search_logout_share_dockers_key(
    engine: FakeEngine, tmp_path: Path
) -> None:
    engine.route("POST", "/auth", lambda req: Reply.json({"Status": "Login Succeeded"}))
    engine.route("POST", r"/images/.*/push", lambda req: lines({"status": "The push refers to repository"}))
    engine.route("POST", "/images/create", lambda req: lines({"status": "Status: Downloaded"}))
    engine.route("GET", "/images/search", lambda req: Reply.json([]))
    result = wharf(engine, "login", "-u", "alice", "--password-stdin", input="pw\n")
    assert result.exit_code == 0 and result.stdout == "Login Succeeded\n"
    assert engine.requests_to("/auth")[0].json()["serveraddress"] == "https://index.docker.io/v1/"
    stored = json.loads((tmp_path / "wharf" / "config.json").read_text())
    assert stored == {
        "auths": {"https://index.docker.io/v1/": {"auth": base64.b64encode(b"alice:pw").decode()}}
    }

    expected = {"username": "alice", "password": "pw", "serveraddress": "https://index.docker.io/v1/"}
    assert wharf(engine, "push", "alice/web").exit_code == 0
    assert sent_auth(engine.requests_to(r"/images/alice/web/push")[0]) == expected
    pulled = wharf(engine, "pull", "alice/web")
    assert pulled.stdout.splitlines()[-1] == "docker.io/alice/web:latest"  # as docker prints it
    assert sent_auth(engine.requests_to("/images/create")[0]) == expected
    assert wharf(engine, "pull", "busybox").stdout.splitlines()[-1] == "docker.io/library/busybox:latest"
    assert wharf(engine, "search", "web").exit_code == 0
    assert sent_auth(engine.requests_to("/images/search")[0]) == expected

    out = wharf(engine, "logout")
    assert out.stdout == "Removing login credentials for https://index.docker.io/v1/\n"
    assert auth.credentials(None) is None


def test_a_docker_login_to_the_default_hub_is_used(engine: FakeEngine, tmp_path: Path) -> None:
    docker = tmp_path / "docker"
    docker.mkdir()
    token = base64.b64encode(b"bob:secret").decode()
    (docker / "config.json").write_text(
        json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": token}}})
    )
    for name in ("alice/web", "docker.io/alice/web", "index.docker.io/library/busybox", "busybox"):
        assert auth.auth_config(auth.registry_of(name)) == {
            "username": "bob",
            "password": "secret",
            "serveraddress": "https://index.docker.io/v1/",
        }
