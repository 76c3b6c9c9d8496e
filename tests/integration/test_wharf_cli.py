"""The ``wharf`` CLI against a real engine, as a user would drive it (issue 2, item 7)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from engines import BUSYBOX_TAR, VENV_BIN, Engine, pty_session, wait_for

pytestmark = [pytest.mark.root]

WHARF = str(VENV_BIN / "wharf")
LOOP = "while true; do sleep 1; done"
NO_HOSTS = {k: v for k, v in os.environ.items() if k not in ("WHARF_HOST", "DOCKER_HOST")}


def out(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def wharf_env(
    env: dict[str, str], *args: str, input: bytes | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[bytes]:
    """``wharf`` with an environment of the test's choosing (host selection, ``-e KEY``)."""
    return subprocess.run([WHARF, *args], env=env, input=input, capture_output=True, timeout=timeout)


def detach(engine: Engine, name: str, script: str) -> str:
    """``wharf run -d --name NAME busybox sh -c SCRIPT``; the container's full id."""
    return out(engine.wharf("run", "-d", "--name", name, "busybox", "sh", "-c", script)).strip()


def ready(engine: Engine, name: str) -> None:
    """Wait until a container echoed ``ready`` (its traps are installed)."""
    wait_for(lambda: "ready" in out(engine.wharf("logs", name)), timeout=10)


def test_version_shows_client_and_server(engine: Engine) -> None:
    text = out(engine.wharf("version"))
    assert text.startswith("Client:\n") and "\nServer: " in text and "API version:" in text
    assert out(engine.wharf("version", "--format", "{{.Server.Os}}")) == "linux\n"


def test_info_shows_storage_and_logging_drivers(engine: Engine) -> None:
    text = out(engine.wharf("info"))
    assert " Storage Driver: overlay2\n" in text and " Logging Driver: json-file\n" in text
    assert re.search(r"^ Images: [1-9]", text, re.M)


def test_run_detached_prints_the_full_id_and_names_it(engine: Engine) -> None:
    try:
        cid = out(engine.wharf("run", "-d", "--name", "wc-det", "busybox", "sleep", "300")).strip()
        assert re.fullmatch(r"[0-9a-f]{64}", cid)
        assert out(engine.wharf("inspect", "--format", "{{.Name}} {{.Id}}", "wc-det")) == f"/wc-det {cid}\n"
    finally:
        engine.wharf("rm", "-f", "wc-det")


def test_run_interactive_pipes_stdin(engine: Engine) -> None:
    result = engine.wharf("run", "--rm", "-i", "busybox", "tr", "a-z", "A-Z", input=b"shout\n", timeout=20)
    assert out(result) == "SHOUT\n"


def test_run_tty_interactive_via_pty(engine: Engine) -> None:
    output, code = pty_session(
        engine.env, [WHARF, "run", "-it", "--rm", "busybox", "sh"], b"echo hi; tty; exit 5\r"
    )
    assert b"hi\r\n" in output and b"/dev/pts/0" in output
    assert code == 5


def test_run_rm_removes_the_container_after_exit(engine: Engine) -> None:
    result = engine.wharf("run", "--rm", "--name", "wc-rm", "busybox", "sh", "-c", "echo bye; exit 3")
    assert (result.returncode, result.stdout) == (3, b"bye\n")
    gone = engine.wharf("inspect", "wc-rm")
    assert gone.returncode == 1 and b"No such object: wc-rm" in gone.stderr


def test_run_env_sets_values_and_passes_through_local_ones(engine: Engine) -> None:
    env = {**engine.env, "WC_FROM_HOST": "passed through"}
    result = wharf_env(env, "run", "--rm", "-e", "WC_SET=1", "-e", "WC_FROM_HOST", "busybox", "env")
    lines = out(result).splitlines()
    assert "WC_SET=1" in lines and "WC_FROM_HOST=passed through" in lines


def test_run_env_without_value_is_dropped_when_unset_locally(engine: Engine) -> None:
    env = {k: v for k, v in engine.env.items() if k != "WC_NOT_SET"}
    result = wharf_env(env, "run", "--rm", "-e", "WC_NOT_SET", "busybox", "env")
    assert result.returncode == 0, result.stderr.decode()
    assert "WC_NOT_SET" not in result.stdout.decode()


def test_run_workdir_and_user_apply(engine: Engine) -> None:
    result = engine.wharf(
        "run", "--rm", "-w", "/made/here", "-u", "1000:1000", "busybox", "sh", "-c", "pwd; id"
    )
    assert out(result) == "/made/here\nuid=1000 gid=1000\n"
    assert out(engine.wharf("run", "--rm", "-u", "nobody", "busybox", "id", "-un")) == "nobody\n"


def test_run_entrypoint_replaces_the_command(engine: Engine) -> None:
    assert out(engine.wharf("run", "--rm", "--entrypoint", "echo", "busybox", "hi", "there")) == "hi there\n"


def test_run_attach_selects_streams(engine: Engine) -> None:
    script = "echo out; echo err >&2"
    only_err = engine.wharf("run", "--rm", "-a", "stderr", "busybox", "sh", "-c", script)
    assert (only_err.returncode, only_err.stdout, only_err.stderr) == (0, b"", b"err\n")
    only_out = engine.wharf("run", "--rm", "-a", "stdout", "busybox", "sh", "-c", script)
    assert (only_out.returncode, only_out.stdout, only_out.stderr) == (0, b"out\n", b"")


def test_run_flags_after_the_image_go_to_the_command(engine: Engine) -> None:
    listing = out(engine.wharf("run", "--rm", "busybox", "ls", "-la", "/"))
    assert listing.startswith("total ")
    assert re.search(r"^d\S+\s+\d+\s+root\s+root\s+\d+ .* bin$", listing, re.M)


def test_start_attach_prints_output_of_a_created_container(engine: Engine) -> None:
    body = {"Image": "busybox", "Cmd": ["sh", "-c", "echo hello; exit 4"]}
    engine.json("POST", "/containers/create?name=wc-created", body)
    try:
        assert "Created" in out(engine.wharf("ps", "-a", "-f", "name=wc-created"))
        result = engine.wharf("start", "-a", "wc-created", timeout=20)
        assert (result.returncode, result.stdout) == (4, b"hello\n")
    finally:
        engine.wharf("rm", "-f", "wc-created")


def test_start_attach_interactive_feeds_stdin(engine: Engine) -> None:
    try:
        first = engine.wharf(
            "run", "-i", "--name", "wc-cat", "busybox", "sh", "-c", "cat; echo done", input=b""
        )
        assert out(first) == "done\n"
        again = engine.wharf("start", "-a", "-i", "wc-cat", input=b"abc\n", timeout=20)
        assert out(again) == "abc\ndone\n"
    finally:
        engine.wharf("rm", "-f", "wc-cat")


def test_stop_kills_a_process_ignoring_term_after_the_timeout(engine: Engine) -> None:
    try:
        detach(engine, "wc-trap", f"trap '' TERM; echo ready; {LOOP}")
        ready(engine, "wc-trap")
        started = time.monotonic()
        assert out(engine.wharf("stop", "-t", "2", "wc-trap")) == "wc-trap\n"
        assert 1.8 <= time.monotonic() - started < 15
        assert out(engine.wharf("inspect", "-f", "{{.State.ExitCode}}", "wc-trap")) == "137\n"
        assert re.search(r"Exited \(137\) .*ago", out(engine.wharf("ps", "-a", "-f", "name=wc-trap")))
    finally:
        engine.wharf("rm", "-f", "wc-trap")


def test_kill_sends_the_signal_given_and_sigkill_by_default(engine: Engine) -> None:
    try:
        detach(engine, "wc-usr1", f"trap 'exit 3' USR1; echo ready; {LOOP}")
        out(engine.wharf("run", "-d", "--name", "wc-kill", "busybox", "sleep", "300"))
        ready(engine, "wc-usr1")
        assert out(engine.wharf("kill", "-s", "USR1", "wc-usr1")) == "wc-usr1\n"
        assert out(engine.wharf("wait", "wc-usr1", timeout=15)) == "3\n"
        assert out(engine.wharf("kill", "wc-kill")) == "wc-kill\n"
        assert out(engine.wharf("wait", "wc-kill", timeout=15)) == "137\n"
    finally:
        engine.wharf("rm", "-f", "wc-usr1", "wc-kill")


def test_restart_runs_the_command_again(engine: Engine) -> None:
    try:
        out(engine.wharf("run", "-d", "--name", "wc-again", "busybox", "sh", "-c", "echo started; sleep 300"))
        wait_for(lambda: out(engine.wharf("logs", "wc-again")) == "started\n")
        assert out(engine.wharf("restart", "-t", "1", "wc-again")) == "wc-again\n"
        wait_for(lambda: out(engine.wharf("logs", "wc-again")) == "started\nstarted\n")
        status = out(engine.wharf("ps", "--format", "{{.Status}}", "-f", "name=wc-again"))
        assert status.startswith("Up ")
    finally:
        engine.wharf("rm", "-f", "wc-again")


def test_rm_force_removes_a_running_container(engine: Engine) -> None:
    out(engine.wharf("run", "-d", "--name", "wc-force", "busybox", "sleep", "300"))
    try:
        assert out(engine.wharf("rm", "-f", "wc-force")) == "wc-force\n"
        assert engine.wharf("inspect", "wc-force").returncode == 1
    finally:
        engine.wharf("rm", "-f", "wc-force")


def test_rm_force_of_an_unknown_container_still_succeeds(engine: Engine) -> None:
    result = engine.wharf("rm", "-f", "wc-never-existed")
    assert b"No such container: wc-never-existed" in result.stderr
    assert result.returncode == 0


def test_ps_lists_filters_and_formats(engine: Engine) -> None:
    names = ["wc-ps-up", "wc-ps-ex", "wc-ps-new"]
    try:
        up = out(engine.wharf("run", "-d", "--name", names[0], "busybox", "sleep", "300")).strip()
        assert engine.wharf("run", "--name", names[1], "busybox", "sh", "-c", "exit 3").returncode == 3
        new = engine.json("POST", f"/containers/create?name={names[2]}", {"Image": "busybox"})["Id"]
        running = out(engine.wharf("ps"))
        header = ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
        assert running.split("\n")[0].split() == header
        assert names[0] in running and names[1] not in running
        assert up[:12] in out(engine.wharf("ps", "-q")).split()
        assert out(engine.wharf("ps", "-a", "-l", "-q")) == f"{new[:12]}\n"
        assert names[2] in out(engine.wharf("ps", "-l"))
        assert out(engine.wharf("ps", "-n", "2", "--format", "{{.Names}}")) == f"{names[2]}\n{names[1]}\n"
        assert up in out(engine.wharf("ps", "--no-trunc", "-q")).split()
        assert f"{up[:12]}\t{names[0]}\n" in out(engine.wharf("ps", "--format", r"{{.ID}}\t{{.Names}}"))
        table = out(engine.wharf("ps", "-a", "--format", r"table {{.Names}}\t{{.Status}}")).splitlines()
        assert table[0].split() == ["NAMES", "STATUS"]
        status = {line.split(None, 1)[0]: line.split(None, 1)[1].strip() for line in table[1:]}
        assert re.fullmatch(r"Up (Less than a second|\d+ seconds?)", status[names[0]])
        assert re.fullmatch(r"Exited \(3\) (Less than a second|\d+ seconds?) ago", status[names[1]])
        assert status[names[2]] == "Created"
        exited = out(engine.wharf("ps", "-a", "-f", "status=exited", "--format", "{{.Names}}")).split()
        assert names[1] in exited and names[0] not in exited
        by_name = out(engine.wharf("ps", "-a", "-f", f"name={names[0]}", "--format", "{{.Names}}"))
        assert by_name == f"{names[0]}\n"
    finally:
        engine.wharf("rm", "-f", *names)


def test_logs_tail_timestamps_and_follow(engine: Engine) -> None:
    try:
        detach(engine, "wc-tick", "while true; do date; sleep 1; done")
        wait_for(lambda: len(out(engine.wharf("logs", "wc-tick")).splitlines()) >= 4, timeout=15)
        assert len(out(engine.wharf("logs", "--tail", "3", "wc-tick")).splitlines()) == 3
        stamped = out(engine.wharf("logs", "-t", "--tail", "2", "wc-tick")).splitlines()
        assert len(stamped) == 2
        assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z \w{3} \w{3} ", x) for x in stamped)
        started = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired) as follow:
            engine.wharf("logs", "-f", "--tail", "0", "wc-tick", timeout=3)
        assert time.monotonic() - started >= 2.9
        assert len((follow.value.stdout or b"").decode().splitlines()) >= 2
    finally:
        engine.wharf("rm", "-f", "wc-tick")


def test_wait_prints_the_exit_code(engine: Engine) -> None:
    try:
        out(engine.wharf("run", "-d", "--name", "wc-wait", "busybox", "sh", "-c", "sleep 1; exit 7"))
        result = engine.wharf("wait", "wc-wait", timeout=15)
        assert (result.returncode, result.stdout) == (0, b"7\n")
    finally:
        engine.wharf("rm", "-f", "wc-wait")


def test_attach_to_a_running_container_prints_its_output(engine: Engine) -> None:
    script = "sleep 2; for i in 1 2 3; do echo line$i; sleep 0.5; done; exit 2"
    try:
        out(engine.wharf("run", "-d", "--name", "wc-attach", "busybox", "sh", "-c", script))
        result = engine.wharf("attach", "wc-attach", timeout=15)
        assert result.returncode == 2
        assert result.stdout == b"line1\nline2\nline3\n"
    finally:
        engine.wharf("rm", "-f", "wc-attach")


def test_inspect_prints_json_and_templates(engine: Engine) -> None:
    try:
        out(engine.wharf("run", "-d", "--name", "wc-insp", "-e", "WC=1", "busybox", "sleep", "300"))
        out(engine.wharf("run", "--name", "wc-insp-done", "busybox", "true"))
        data = json.loads(out(engine.wharf("inspect", "wc-insp")))
        assert isinstance(data, list) and len(data) == 1 and data[0]["Name"] == "/wc-insp"
        running = ["inspect", "--format", "{{ .State.Running }}"]
        assert out(engine.wharf(*running, "wc-insp", "wc-insp-done")) == "true\nfalse\n"
        assert out(engine.wharf("inspect", "--format", "{{.Name}}", "wc-insp")) == "/wc-insp\n"
        env = json.loads(out(engine.wharf("inspect", "--format", "{{json .Config.Env}}", "wc-insp")))
        assert "WC=1" in env and any(e.startswith("PATH=") for e in env)
        assert out(engine.wharf("inspect", "--format", "{{.Config.Image}}", "wc-insp")) == "busybox\n"
        image = json.loads(out(engine.wharf("inspect", "busybox")))[0]
        assert image["Id"].startswith("sha256:") and "busybox:latest" in image["RepoTags"]
    finally:
        engine.wharf("rm", "-f", "wc-insp", "wc-insp-done")


def test_images_lists_columns_and_ids(engine: Engine) -> None:
    image_id = out(engine.wharf("inspect", "--format", "{{.Id}}", "busybox")).strip()
    table = out(engine.wharf("images")).splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert any(line.split()[:3] == ["busybox", "latest", image_id[7:19]] for line in table[1:])
    assert image_id[7:19] in out(engine.wharf("images", "-q")).split()
    assert "busybox" in out(engine.wharf("images", "-a"))


def test_tag_and_rmi_untag(engine: Engine) -> None:
    try:
        assert out(engine.wharf("tag", "busybox", "wc-tagged:v1")) == ""
        ids = out(engine.wharf("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"))
        by_name = dict(line.split() for line in ids.splitlines())
        assert by_name["wc-tagged:v1"] == by_name["busybox:latest"]
        assert out(engine.wharf("rmi", "wc-tagged:v1")) == "Untagged: wc-tagged:v1\n"
        assert "wc-tagged" not in out(engine.wharf("images")) and "busybox" in out(engine.wharf("images"))
    finally:
        engine.wharf("rmi", "wc-tagged:v1")


def test_rmi_refuses_an_image_id_used_by_a_container(engine: Engine) -> None:
    try:
        image_id = out(engine.wharf("import", str(BUSYBOX_TAR), "wc-inuse:v1")).strip()
        out(engine.wharf("run", "-d", "--name", "wc-user", "wc-inuse:v1", "sleep", "300"))
        refused = engine.wharf("rmi", image_id)
        assert refused.returncode != 0
        assert b"image is being used by running container" in refused.stderr
        assert out(engine.wharf("images", "-q", "wc-inuse")).strip() == image_id[7:19]
    finally:
        engine.wharf("rm", "-f", "wc-user")
        engine.wharf("rmi", "wc-inuse:v1")


def test_import_file_with_change_and_from_stdin(engine: Engine) -> None:
    try:
        image_id = out(engine.wharf("import", "-c", 'CMD ["sh"]', str(BUSYBOX_TAR), "wc-imp:cmd")).strip()
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", image_id)
        assert out(engine.wharf("inspect", "--format", "{{json .Config.Cmd}}", "wc-imp:cmd")) == '["sh"]\n'
        via_cmd = engine.wharf("run", "--rm", "-i", "wc-imp:cmd", input=b"echo via-cmd\n", timeout=20)
        assert out(via_cmd) == "via-cmd\n"
        piped = out(engine.wharf("import", "-", "wc-imp:stdin", input=BUSYBOX_TAR.read_bytes()))
        assert piped.startswith("sha256:")
        assert out(engine.wharf("run", "--rm", "wc-imp:stdin", "echo", "works")) == "works\n"
    finally:
        engine.wharf("rmi", "wc-imp:cmd", "wc-imp:stdin")


def test_save_and_load_round_trip(engine: Engine, tmp_path: Path) -> None:
    archive = tmp_path / "saved.tar"
    try:
        out(engine.wharf("import", "-c", 'CMD ["sh"]', str(BUSYBOX_TAR), "wc-saved:v1"))
        assert out(engine.wharf("save", "-o", str(archive), "wc-saved:v1")) == ""
        assert archive.stat().st_size > 1_000_000
        for load_args, data in ((["-i", str(archive)], None), ([], archive.read_bytes())):
            assert "Deleted: sha256:" in out(engine.wharf("rmi", "wc-saved:v1"))
            assert engine.wharf("inspect", "wc-saved:v1").returncode == 1
            assert "Loaded image: wc-saved:v1" in out(engine.wharf("load", *load_args, input=data))
            assert out(engine.wharf("run", "--rm", "wc-saved:v1", "echo", "back")) == "back\n"
    finally:
        engine.wharf("rmi", "wc-saved:v1")


def test_host_flag_selects_the_engine_over_the_environment(engine: Engine) -> None:
    env = {**NO_HOSTS, "WHARF_HOST": f"unix://{engine.root}/absent.sock"}
    assert out(wharf_env(env, "-H", engine.host, "version", "--format", "{{.Server.Os}}")) == "linux\n"
    assert out(wharf_env(env, "-H", engine.host, "ps")).startswith("CONTAINER ID")


def test_docker_host_alone_selects_the_engine(engine: Engine) -> None:
    env = {**NO_HOSTS, "DOCKER_HOST": engine.host}
    assert out(wharf_env(env, "info", "--format", "{{.Driver}}")) == "overlay2\n"


def test_bad_host_cannot_connect(engine: Engine) -> None:
    result = wharf_env(NO_HOSTS, "-H", f"unix://{engine.root}/absent.sock", "ps")
    assert result.returncode != 0 and result.stdout == b""
    assert b"Cannot connect to the wharf engine" in result.stderr


@pytest.mark.parametrize("command", [["stop"], ["rm"], ["logs"], ["kill"], ["wait"], ["start"]])
def test_unknown_container_fails_with_no_such_container(engine: Engine, command: list[str]) -> None:
    result = engine.wharf(*command, "x")
    assert result.returncode == 1
    assert b"No such container: x" in result.stderr


def test_run_unknown_image_exits_125(engine: Engine) -> None:
    result = engine.wharf("run", "--rm", "wc-no-such-image")
    assert result.returncode == 125
    assert b"Unable to find image 'wc-no-such-image:latest' locally" in result.stderr


def test_run_unknown_command_exits_127(engine: Engine) -> None:
    result = engine.wharf("run", "--rm", "busybox", "wc-no-such-binary")
    assert result.returncode == 127
    assert b'"wc-no-such-binary": executable file not found' in result.stderr
