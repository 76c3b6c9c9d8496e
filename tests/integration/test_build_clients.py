"""Builds through the clients and from remote contexts: wharf build, docker build, git and URLs."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import buildstack
import pytest
from builds import build, context_tar, run
from engines import Engine

pytestmark = [pytest.mark.root]


def write_course_app(root: Path) -> None:
    """The course's webapp pattern: requirements first (cached), app code last."""
    (root / "Dockerfile").write_text(
        "FROM busybox\nLABEL app=webapp\nWORKDIR /src\nCOPY requirements.txt /src/\n"
        "RUN echo installing $(cat requirements.txt) > /deps\nCOPY app /src/app\nEXPOSE 8000\n"
        'CMD ["sh", "-c", "cat /deps /src/app/main.txt"]\n'
    )
    (root / "requirements.txt").write_text("flask\n")
    (root / "app").mkdir()
    (root / "app" / "main.txt").write_text("app v1\n")
    (root / "notes.key").write_text("secret\n")
    (root / ".dockerignore").write_text("*.key\n")


def test_wharf_build_matches_docker_build(engine: Engine, tmp_path: Path) -> None:
    import subprocess

    from engines import DOCKER

    write_course_app(tmp_path)
    result = engine.wharf("build", "--no-cache", "-t", "via-wharf", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert b"Sending build context to Docker daemon" in result.stdout
    assert b"Successfully tagged via-wharf:latest" in result.stdout
    assert run(engine, "via-wharf") == (0, b"installing flask\napp v1\n")
    if Path(DOCKER).exists():
        env = {**engine.env, "DOCKER_BUILDKIT": "0"}
        docker = subprocess.run(
            [DOCKER, "build", "--no-cache", "-t", "via-docker", str(tmp_path)],
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert docker.returncode == 0, docker.stderr
        ours, theirs = (engine.json("GET", f"/images/{n}/json") for n in ("via-wharf", "via-docker"))
        assert ours["Config"] == theirs["Config"]
        # layers made by RUN/WORKDIR carry the build's timestamps, as with Docker: compare their number
        assert len(ours["RootFS"]["Layers"]) == len(theirs["RootFS"]["Layers"])
        assert ours["RootFS"]["Layers"][0] == theirs["RootFS"]["Layers"][0]
    # changing only the app code re-runs only what follows its COPY
    (tmp_path / "app" / "main.txt").write_text("app v2\n")
    result = engine.wharf("build", "-t", "via-wharf", str(tmp_path))
    out = result.stdout.decode()
    assert out.count("Using cache") == 4 and "Running in" not in out
    assert run(engine, "via-wharf") == (0, b"installing flask\napp v2\n")


def test_wharf_build_from_stdin_and_outside_dockerfile(engine: Engine, tmp_path: Path) -> None:
    result = engine.wharf("build", "-q", "-", input=b'FROM busybox\nCMD ["echo", "from stdin"]\n')
    assert result.returncode == 0, result.stderr
    image_id = result.stdout.decode().strip()
    assert image_id.startswith("sha256:") and run(engine, image_id) == (0, b"from stdin\n")
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "data.txt").write_text("data\n")
    elsewhere = tmp_path / "build.Dockerfile"
    elsewhere.write_text('FROM busybox\nCOPY data.txt /\nCMD ["cat", "/data.txt"]\n')
    result = engine.wharf("build", "-f", str(elsewhere), "-t", "outside-df", str(context))
    assert result.returncode == 0, result.stderr
    assert run(engine, "outside-df") == (0, b"data\n")
    failed = engine.wharf("build", "-", input=b"FROM busybox\nRUN exit 4\n")
    assert failed.returncode == 1
    assert b"returned a non-zero code: 4" in failed.stderr


def test_course_ifconfigme_entrypoint_and_cmd(engine: Engine) -> None:
    """The course's ifconfig.me image, against a local HTTP server (host network, loopback only)."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"you asked for {self.path}\n".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        dockerfile = f'FROM busybox\nENTRYPOINT ["wget", "-O-", "-q"]\nCMD ["{base}/ip"]\n'
        assert build(engine, {"Dockerfile": dockerfile}, "t=ifconfigme")[0] == 200

        def fetch(*cmd: str) -> bytes:
            body: dict[str, Any] = {"Image": "ifconfigme", "HostConfig": {"NetworkMode": "host"}}
            if cmd:
                body["Cmd"] = list(cmd)
            cid = engine.json("POST", "/containers/create", body)["Id"]
            engine.request("POST", f"/containers/{cid}/start")
            assert engine.json("POST", f"/containers/{cid}/wait")["StatusCode"] == 0
            _, logs = engine.request("GET", f"/containers/{cid}/logs?stdout=1")
            engine.request("DELETE", f"/containers/{cid}")
            return logs[8:]

        assert fetch() == b"you asked for /ip\n"
        assert fetch(f"{base}/ua") == b"you asked for /ua\n"  # CMD replaced, ENTRYPOINT kept
    finally:
        server.shutdown()
        server.server_close()


def test_bad_input_shell_json_unset_arg_and_failed_download(engine: Engine) -> None:
    status, messages = build(engine, {"Dockerfile": "FROM busybox\nSHELL /bin/bash -c\n"}, "t=never")
    assert status == 400 and "JSON" in messages[0]["message"]
    status, messages = build(engine, {"Dockerfile": "ARG BASE\nFROM $BASE\n"}, "t=never")
    assert "base name ($BASE) should not be blank" in (
        messages[-1].get("error") or messages[-1].get("message", "")
    )
    dockerfile = "FROM busybox\nADD http://127.0.0.1:9/missing.txt /x\n"
    status, messages = build(engine, {"Dockerfile": dockerfile}, "t=never")
    assert "failed to download http://127.0.0.1:9/missing.txt" in messages[-1]["error"]
    assert engine.request("GET", "/images/never/json")[0] == 404


@pytest.fixture
def served(tmp_path: Path) -> Any:
    """A loopback HTTP server over ``tmp_path/www``; yields (root dir, base URL)."""
    import functools
    import http.server
    import threading

    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def git(*args: str, cwd: Path) -> None:
    import subprocess

    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def test_remote_git_context_with_ref_and_subdir(engine: Engine, tmp_path: Path, served: Any) -> None:
    www, base = served
    repo = tmp_path / "repo"
    (repo / "docker").mkdir(parents=True)
    (repo / "docker" / "Dockerfile").write_text('FROM busybox\nCOPY hello.txt /\nCMD ["cat", "/hello.txt"]\n')
    (repo / "docker" / "hello.txt").write_text("from main\n")
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "one", cwd=repo)
    git("checkout", "-q", "-b", "release", cwd=repo)
    (repo / "docker" / "hello.txt").write_text("from release\n")
    git("commit", "-q", "-am", "two", cwd=repo)
    git("clone", "-q", "--bare", str(repo), str(www / "repo.git"), cwd=tmp_path)
    git("update-server-info", cwd=www / "repo.git")  # dumb HTTP: plain files over the loopback server
    remote = urllib.parse.quote(f"{base}/repo.git#release:docker", safe="")
    status, body = engine.request("POST", f"/build?t=fromgit&remote={remote}")
    assert status == 200, body
    assert b"Successfully tagged fromgit:latest" in body
    assert run(engine, "fromgit") == (0, b"from release\n")
    remote = urllib.parse.quote(f"{base}/repo.git#main:../../etc", safe="")
    status, body = engine.request("POST", f"/build?remote={remote}")
    assert status == 400 and b"outside the repository" in body
    remote = urllib.parse.quote(f"{base}/nope.git", safe="")
    status, body = engine.request("POST", f"/build?remote={remote}")
    assert status == 400 and b"git clone" in body


def test_remote_tarball_and_plain_dockerfile(engine: Engine, served: Any) -> None:
    www, base = served
    (www / "ctx.tar").write_bytes(
        context_tar({"Dockerfile": 'FROM busybox\nCOPY a /\nCMD ["cat", "/a"]\n', "a": "A\n"})
    )
    (www / "Dockerfile").write_text('FROM busybox\nCMD ["echo", "plain"]\n')
    result = engine.wharf("build", "-t", "fromtar", f"{base}/ctx.tar")
    assert result.returncode == 0, result.stderr
    assert run(engine, "fromtar") == (0, b"A\n")
    status, _ = engine.request(
        "POST", f"/build?t=fromplain&remote={urllib.parse.quote(base + '/Dockerfile', safe='')}"
    )
    assert status == 200
    assert run(engine, "fromplain") == (0, b"plain\n")
    status, body = engine.request("POST", f"/build?remote={urllib.parse.quote(base + '/missing', safe='')}")
    assert status == 400 and b"error downloading" in body


def test_chown_by_name_add_url_and_copy_from_image(engine: Engine, served: Any) -> None:
    www, base = served
    (www / "remote.txt").write_text("fetched\n")
    dockerfile = (
        f"FROM busybox\nADD {base}/remote.txt /srv/\nCOPY --chown=www-data:nogroup own.txt /own.txt\n"
        "COPY --chown=nobody named.txt /named.txt\nCOPY --from=busybox /bin/busybox /opt/busybox\n"
    )
    files = {"Dockerfile": dockerfile, "own.txt": "o", "named.txt": "n"}
    status, messages = build(engine, files, "t=chowned")
    assert status == 200, messages
    assert run(engine, "chowned", "cat", "/srv/remote.txt") == (0, b"fetched\n")
    assert run(engine, "chowned", "stat", "-c", "%a", "/srv/remote.txt") == (0, b"600\n")
    assert run(engine, "chowned", "stat", "-c", "%U:%G", "/own.txt") == (0, b"www-data:nogroup\n")
    assert run(engine, "chowned", "stat", "-c", "%u:%g", "/named.txt") == (0, b"65534:65534\n")
    assert run(engine, "chowned", "/opt/busybox", "echo", "ok") == (0, b"ok\n")
    status, messages = build(engine, {"Dockerfile": "FROM busybox\nCOPY --chown=ghost x /x\n", "x": "x"}, "")
    assert "unable to find user ghost" in messages[-1]["error"]


def test_wharf_import_from_url_and_history(engine: Engine, served: Any, busybox_tar: Path) -> None:
    www, base = served
    (www / "rootfs.tar").write_bytes(busybox_tar.read_bytes())
    result = engine.wharf("import", "-c", 'CMD ["echo", "imported"]', f"{base}/rootfs.tar", "urlimport:1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip().startswith("sha256:")
    assert run(engine, "urlimport:1") == (0, b"imported\n")
    history = engine.wharf("history", "urlimport:1").stdout.decode().splitlines()
    assert history[0].split()[:3] == ["IMAGE", "CREATED", "CREATED"]
    assert f"Imported from {base}/rootfs.tar" in history[1]
    quiet = engine.wharf("history", "-q", "--no-trunc", "urlimport:1").stdout.decode().split()
    assert quiet == [engine.json("GET", "/images/urlimport:1/json")["Id"]]


def test_wharf_build_from_a_git_url_served_by_git_daemon(engine: Engine, tmp_path: Path) -> None:
    """``wharf build -t NAME git://host/repo.git#ref:dir``, as ``docker build`` takes it."""
    repo = tmp_path / "src"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "Dockerfile").write_text('FROM busybox\nCOPY msg /\nCMD ["cat", "/msg"]\n')
    (repo / "app" / "msg").write_text("from main\n")
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "one", cwd=repo)
    git("checkout", "-q", "-b", "stable", cwd=repo)
    (repo / "app" / "msg").write_text("from stable\n")
    git("commit", "-q", "-am", "two", cwd=repo)
    exported = tmp_path / "exported"
    exported.mkdir()
    git("clone", "-q", "--bare", str(repo), str(exported / "web.git"), cwd=tmp_path)
    with buildstack.git_daemon(exported) as base:
        built = engine.wharf("build", "-t", "fromdaemon", f"{base}/web.git#stable:app", timeout=120)
        assert built.returncode == 0, built.stderr
        missing = engine.wharf("build", f"{base}/nope.git", timeout=60)
    assert b"Successfully tagged fromdaemon:latest" in built.stdout
    assert run(engine, "fromdaemon") == (0, b"from stable\n")
    assert missing.returncode != 0 and b"git clone" in missing.stderr
