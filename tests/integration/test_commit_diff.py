"""Interactive image making: diff, commit (with changes), history, export, pause."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root]


def run(engine: Engine, name: str, script: str) -> str:
    cid = engine.json(
        "POST", f"/containers/create?name={name}", {"Image": "busybox", "Cmd": ["sh", "-c", script]}
    )
    engine.request("POST", f"/containers/{cid['Id']}/start")
    assert engine.json("POST", f"/containers/{cid['Id']}/wait")["StatusCode"] == 0
    return str(cid["Id"])


def test_diff_lists_added_changed_deleted_without_runtime_files(engine: Engine) -> None:
    cid = run(engine, "differ", "echo hi > /etc/greeting; rm /bin/vi; mkdir -p /srv/app; touch /srv/app/x")
    changes = {c["Path"]: c["Kind"] for c in engine.json("GET", f"/containers/{cid}/changes")}
    assert changes == {
        "/bin": 0,
        "/bin/vi": 2,
        "/etc": 0,
        "/etc/greeting": 1,
        "/srv": 1,
        "/srv/app": 1,
        "/srv/app/x": 1,
    }
    engine.request("DELETE", f"/containers/{cid}")


def test_commit_makes_an_image_with_the_changes(engine: Engine) -> None:
    cid = run(engine, "committer", "echo hi > /etc/greeting; rm /bin/vi")
    status, body = engine.request(
        "POST",
        f"/commit?container={cid}&repo=greeted&tag=v1&comment=add+greeting&author=me"
        "&changes=CMD+%5B%22cat%22%2C%22%2Fetc%2Fgreeting%22%5D&changes=ENV+MOOD%3Dhappy",
    )
    assert status == 201, body
    image_id = json.loads(body)["Id"]
    image = engine.json("GET", "/images/greeted:v1/json")
    base = engine.json("GET", "/images/busybox/json")
    assert image["Id"] == image_id
    assert image["Parent"] == base["Id"]
    assert image["Author"] == "me" and image["Comment"] == "add greeting"
    assert image["Config"]["Cmd"] == ["cat", "/etc/greeting"]
    assert "MOOD=happy" in image["Config"]["Env"]
    assert image["RootFS"]["Layers"][:-1] == base["RootFS"]["Layers"]
    history = engine.json("GET", "/images/greeted:v1/history")
    assert history[0]["Id"] == image_id and history[0]["Comment"] == "add greeting"
    assert history[0]["Tags"] == ["greeted:v1"]
    out = engine.json("POST", "/containers/create", {"Image": "greeted:v1"})["Id"]
    engine.request("POST", f"/containers/{out}/start")
    engine.json("POST", f"/containers/{out}/wait")
    _, logs = engine.request("GET", f"/containers/{out}/logs?stdout=1")
    assert logs[8:] == b"hi\n"
    probe = engine.json("POST", "/containers/create", {"Image": "greeted:v1", "Cmd": ["ls", "/bin/vi"]})["Id"]
    engine.request("POST", f"/containers/{probe}/start")
    assert engine.json("POST", f"/containers/{probe}/wait")["StatusCode"] != 0
    for c in (cid, out, probe):
        engine.request("DELETE", f"/containers/{c}")
    assert engine.request("DELETE", "/images/greeted:v1")[0] == 200


def test_commit_of_unknown_container_and_bad_change(engine: Engine) -> None:
    status, body = engine.request("POST", "/commit?container=nosuch")
    assert status == 404
    cid = run(engine, "badchange", "true")
    status, body = engine.request("POST", f"/commit?container={cid}&changes=RUN+true")
    assert status == 400 and b"not a valid change command" in body
    engine.request("DELETE", f"/containers/{cid}")


def test_export_is_the_whole_filesystem(engine: Engine) -> None:
    cid = run(engine, "exporter", "echo data > /root/file; rm /bin/vi")
    status, body = engine.request("GET", f"/containers/{cid}/export")
    assert status == 200
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        names = set(tar.getnames())
        assert tar.extractfile("root/file").read() == b"data\n"  # type: ignore[union-attr]
    assert "bin/busybox" in names and "bin/vi" not in names
    assert not any(".wh." in n for n in names)
    engine.request("DELETE", f"/containers/{cid}")


def test_pause_freezes_and_unpause_resumes(engine: Engine) -> None:
    cid = engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["sleep", "60"]})["Id"]
    engine.request("POST", f"/containers/{cid}/start")
    assert engine.request("POST", f"/containers/{cid}/pause")[0] == 204
    state = engine.json("GET", f"/containers/{cid}/json")["State"]
    assert state["Paused"] and state["Status"] == "paused"
    assert engine.request("POST", f"/containers/{cid}/pause")[0] == 409
    assert engine.request("POST", f"/containers/{cid}/unpause")[0] == 204
    assert engine.json("GET", f"/containers/{cid}/json")["State"]["Status"] == "running"
    engine.request("POST", f"/containers/{cid}/pause")
    assert engine.request("POST", f"/containers/{cid}/stop?t=1")[0] == 204
    assert engine.json("GET", f"/containers/{cid}/json")["State"]["Status"] == "exited"
    assert engine.request("POST", f"/containers/{cid}/unpause")[0] == 409
    engine.request("DELETE", f"/containers/{cid}")


@needs_docker
def test_docker_cli_diff_commit_history(engine: Engine) -> None:
    assert engine.docker("run", "--name", "cli-cm", "busybox", "sh", "-c", "echo x > /tmp/x").returncode == 0
    assert engine.docker("diff", "cli-cm").stdout.decode().splitlines() == ["C /tmp", "A /tmp/x"]
    result = engine.docker("commit", "-m", "tmp file", "-c", 'CMD ["cat", "/tmp/x"]', "cli-cm", "cli-img:1")
    assert result.returncode == 0 and result.stdout.startswith(b"sha256:")
    assert engine.docker("run", "--rm", "cli-img:1").stdout == b"x\n"
    history = engine.docker("history", "cli-img:1").stdout.decode()
    assert "tmp file" in history.splitlines()[1]
    engine.docker("rm", "cli-cm")
    engine.docker("rmi", "cli-img:1")


def commit(engine: Engine, cid: str, repo: str | None = None) -> str:
    query = f"container={cid}" + (f"&repo={repo}" if repo else "")
    return str(engine.json("POST", f"/commit?{query}")["Id"])


def test_rmi_prunes_untagged_parents_and_protects_children(engine: Engine) -> None:
    first = run(engine, "chain1", "touch /one")
    middle = commit(engine, first)  # untagged: an intermediate image
    second = engine.json("POST", "/containers/create", {"Image": middle, "Cmd": ["touch", "/two"]})["Id"]
    engine.request("POST", f"/containers/{second}/start")
    engine.json("POST", f"/containers/{second}/wait")
    top = commit(engine, second, repo="chaintop")
    for cid in (first, second):
        engine.request("DELETE", f"/containers/{cid}")
    listed = [i["Id"] for i in engine.json("GET", "/images/json")]
    assert top in listed and middle not in listed
    assert middle in [i["Id"] for i in engine.json("GET", "/images/json?all=1")]
    status, body = engine.request("DELETE", f"/images/{middle}")
    assert status == 409 and b"dependent child images" in body
    deleted = engine.json("DELETE", "/images/chaintop")
    assert {"Untagged": "chaintop:latest"} in deleted
    assert {"Deleted": top} in deleted and {"Deleted": middle} in deleted
    assert engine.request("GET", f"/images/{middle}/json")[0] == 404
    assert engine.request("GET", "/images/busybox/json")[0] == 200


def test_image_prune_removes_dangling_only(engine: Engine) -> None:
    cid = run(engine, "pruner", "touch /p")
    dangling = commit(engine, cid)
    kept = commit(engine, cid, repo="keepme")
    engine.request("DELETE", f"/containers/{cid}")
    result = engine.json("POST", "/images/prune")
    assert {"Deleted": dangling} in result["ImagesDeleted"]
    assert engine.request("GET", f"/images/{kept}/json")[0] == 200
    assert engine.request("GET", "/images/busybox/json")[0] == 200
    engine.request("DELETE", "/images/keepme")


def test_import_from_url(engine: Engine, busybox_tar: Path) -> None:
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(busybox_tar.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{busybox_tar.name}"
        status, body = engine.request("POST", f"/images/create?fromSrc={url}&repo=fromurl&tag=1")
        assert status == 200, body
        assert engine.json("GET", "/images/fromurl:1/json")["Comment"] == f"Imported from {url}"
        status, body = engine.request("POST", f"/images/create?fromSrc={url}.missing&repo=nope")
        assert status == 400 and b"error downloading" in body
        status, body = engine.request("POST", "/images/create?fromSrc=file:///etc/passwd&repo=nope")
        assert status == 400
    finally:
        server.shutdown()
        server.server_close()
    engine.request("DELETE", "/images/fromurl:1")
