"""exec, port, volume, top, rename, stats, cp and events against a fake engine; their pure helpers."""

import base64
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner
from wharf_cli.commands.container.cp import (
    CopyError,
    CopyInfo,
    prepare,
    rebase,
    split_cp_arg,
    split_dir_entry,
)
from wharf_cli.commands.container.port import port_lines
from wharf_cli.commands.container.stats import StatsEntry, cpu_percent, memory_usage
from wharf_cli.commands.system.events import parse_duration, pretty, rfc3339_nano, timestamp
from wharf_cli.main import create_app
from wharf_client import STDERR, STDOUT, encode_frame
from wharf_client.testing import FakeEngine, FakeRequest, Reply, write_upgrade

CID = "4f1d2c3b5a6e" + "0" * 52
EXEC_ID = "e" * 64
runner = CliRunner()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    with FakeEngine(tmp_path / "engine.sock") as fake:
        fake.route("GET", "/containers/[^/]+/json", lambda req: Reply.json({"Id": CID, "Name": "/web"}))
        yield fake


def wharf(engine: FakeEngine, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(create_app(), ["-H", engine.url, *args], input=input)


# -- exec -------------------------------------------------------------------------------------------
def _exec_routes(engine: FakeEngine, exit_code: int) -> None:
    engine.route("POST", "/containers/[^/]+/exec", lambda req: Reply.json({"Id": EXEC_ID}, 201))
    engine.route("GET", f"/exec/{EXEC_ID}/json", lambda req: Reply.json({"ExitCode": exit_code}))

    def start(req: FakeRequest) -> None:
        write_upgrade(req.sock, multiplexed=True)
        req.sock.sendall(encode_frame(STDOUT, b"out\n") + encode_frame(STDERR, b"err\n"))
        req.sock.close()

    engine.route("POST", f"/exec/{EXEC_ID}/start", start)


def test_exec_streams_output_and_exits_with_the_command_status(engine: FakeEngine) -> None:
    _exec_routes(engine, 3)
    result = wharf(engine, "exec", "-u", "nobody", "-e", "A=1", "web", "ls", "-la", "--color", "-e")
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    body = engine.requests_to("/containers/web/exec")[0].json()
    assert body["Cmd"] == ["ls", "-la", "--color", "-e"]
    assert (body["User"], body["Env"], body["Tty"], body["AttachStdin"]) == ("nobody", ["A=1"], False, False)
    start = engine.requests_to(f"/exec/{EXEC_ID}/start")[0]
    assert start.headers["upgrade"] == "tcp" and start.json() == {"Detach": False, "Tty": False}


def test_exec_env_without_value_takes_the_local_one(
    engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _exec_routes(engine, 0)
    monkeypatch.setenv("WX_LOCAL", "here")
    monkeypatch.delenv("WX_UNSET", raising=False)
    assert wharf(engine, "exec", "-e", "WX_LOCAL", "-e", "WX_UNSET", "web", "env").exit_code == 0
    assert engine.requests_to("/containers/web/exec")[0].json()["Env"] == ["WX_LOCAL=here", "WX_UNSET"]


def test_exec_detached_starts_without_attaching(engine: FakeEngine) -> None:
    engine.route("POST", "/containers/[^/]+/exec", lambda req: Reply.json({"Id": EXEC_ID}, 201))
    engine.route("POST", f"/exec/{EXEC_ID}/start", lambda req: Reply(200))
    result = wharf(engine, "exec", "-d", "web", "true")
    assert (result.exit_code, result.stdout) == (0, "")
    assert engine.requests_to(f"/exec/{EXEC_ID}/start")[0].json() == {"Detach": True, "Tty": False}
    assert engine.requests_to("/containers/web/exec")[0].json()["AttachStdout"] is False


def test_exec_on_a_stopped_container_fails_with_the_daemon_message(engine: FakeEngine) -> None:
    message = f"Container {CID} is not running"
    engine.route("POST", "/containers/[^/]+/exec", lambda req: Reply.error(409, message))
    result = wharf(engine, "exec", "web", "true")
    assert (result.exit_code, result.stderr) == (1, f"Error response from daemon: {message}\n")


def test_exec_tty_needs_a_terminal_for_stdin(engine: FakeEngine) -> None:
    result = wharf(engine, "exec", "-it", "web", "sh")
    assert (result.exit_code, result.stderr) == (1, "the input device is not a TTY\n")
    assert engine.requests_to("/containers/web/exec") == []


# -- port, top, rename ------------------------------------------------------------------------------
PORTS = {
    "8000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"}, {"HostIp": "::", "HostPort": "32768"}],
    "90/udp": [{"HostIp": "0.0.0.0", "HostPort": "9000"}],
    "443/tcp": None,
}


def test_port_lines_sort_naturally_and_bracket_ipv6() -> None:
    assert port_lines(PORTS, None) == [
        "90/udp -> 0.0.0.0:9000",
        "8000/tcp -> 0.0.0.0:32768",
        "8000/tcp -> [::]:32768",
    ]
    assert port_lines(PORTS, "8000") == ["0.0.0.0:32768", "[::]:32768"]
    with pytest.raises(LookupError):
        port_lines(PORTS, "443/tcp")


def test_port_reports_an_unpublished_port(engine: FakeEngine) -> None:
    info = {"Id": CID, "NetworkSettings": {"Ports": PORTS}}
    engine.route("GET", "/containers/web/json", lambda req: Reply.json(info))
    assert wharf(engine, "port", "web", "90/udp").stdout == "0.0.0.0:9000\n"
    result = wharf(engine, "port", "web", "8001/tcp")
    assert (result.exit_code, result.stderr) == (1, "Error: No public port '8001/tcp' published for web\n")


def test_top_aligns_like_docker_and_passes_ps_args(engine: FakeEngine) -> None:
    listing = {"Titles": ["PID", "COMMAND"], "Processes": [["1", "sleep 600"]]}
    engine.route("GET", "/containers/web/top", lambda req: Reply.json(listing))
    result = wharf(engine, "top", "web", "-o", "pid,comm")
    assert result.stdout == "PID                 COMMAND\n1                   sleep 600\n"
    assert engine.requests_to("/containers/web/top")[0].param("ps_args") == "-o pid,comm"


def test_rename_sends_the_new_name_and_refuses_empty_ones(engine: FakeEngine) -> None:
    engine.route("POST", "/containers/web/rename", lambda req: Reply(204))
    assert wharf(engine, "rename", "web", "api").exit_code == 0
    assert engine.requests_to("/containers/web/rename")[0].param("name") == "api"
    result = wharf(engine, "rename", "web", " ")
    assert (result.exit_code, result.stderr) == (1, "Error: Neither old nor new names may be empty\n")


# -- volume -----------------------------------------------------------------------------------------
def test_volume_ls_sorts_and_prints_docker_columns(engine: FakeEngine) -> None:
    volumes = [{"Name": "v10", "Driver": "local"}, {"Name": "v9", "Driver": "local"}]
    engine.route("GET", "/volumes", lambda req: Reply.json({"Volumes": volumes, "Warnings": None}))
    assert wharf(engine, "volume", "ls").stdout == "DRIVER    VOLUME NAME\nlocal     v9\nlocal     v10\n"
    assert wharf(engine, "volume", "ls", "-q", "-f", "dangling=true").stdout == "v9\nv10\n"
    assert json.loads(engine.requests_to("/volumes")[-1].param("filters") or "") == {"dangling": ["true"]}


def test_volume_create_inspect_and_rm(engine: FakeEngine) -> None:
    record = {"Name": "data", "Driver": "local", "Labels": {"a": "b"}}
    engine.route("POST", "/volumes/create", lambda req: Reply.json(record, 201))
    engine.route("GET", "/volumes/data", lambda req: Reply.json(record))
    engine.route("GET", "/volumes/nope", lambda req: Reply.error(404, "get nope: no such volume"))
    engine.route("DELETE", "/volumes/data", lambda req: Reply(204))
    engine.route("DELETE", "/volumes/nope", lambda req: Reply.error(404, "get nope: no such volume"))
    assert wharf(engine, "volume", "create", "--label", "a=b", "data").stdout == "data\n"
    assert engine.requests_to("/volumes/create")[0].json()["Labels"] == {"a": "b"}
    result = wharf(engine, "volume", "inspect", "data", "nope")
    assert json.loads(result.stdout) == [record]
    assert (result.exit_code, result.stderr) == (1, "Error response from daemon: get nope: no such volume\n")
    assert wharf(engine, "volume", "inspect", "-f", "{{.Labels.a}}", "data").stdout == "b\n"
    result = wharf(engine, "volume", "rm", "data", "nope")
    assert (result.exit_code, result.stdout) == (1, "data\n")
    assert wharf(engine, "volume", "rm", "-f", "nope").stdout == "nope\n"


def test_volume_prune_reports_and_asks_first(engine: FakeEngine) -> None:
    report = {"VolumesDeleted": ["a", "b"], "SpaceReclaimed": 2048}
    engine.route("POST", "/volumes/prune", lambda req: Reply.json(report))
    assert wharf(engine, "volume", "prune", "-f").stdout == (
        "Deleted Volumes:\na\nb\n\nTotal reclaimed space: 2.048kB\n"
    )
    declined = wharf(engine, "volume", "prune", input="n\n")
    assert declined.stdout.endswith("[y/N] Total reclaimed space: 0B\n")
    assert len(engine.requests_to("/volumes/prune")) == 1


# -- stats ------------------------------------------------------------------------------------------
SAMPLE = {
    "id": CID,
    "name": "/web",
    "cpu_stats": {"cpu_usage": {"total_usage": 400}, "system_cpu_usage": 10_000, "online_cpus": 4},
    "precpu_stats": {"cpu_usage": {"total_usage": 200}, "system_cpu_usage": 8_000},
    "memory_stats": {"usage": 3 << 20, "limit": 1 << 30, "stats": {"total_inactive_file": 1 << 20}},
    "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 0}},
    "blkio_stats": {
        "io_service_bytes_recursive": [{"op": "Read", "value": 4096}, {"op": "write", "value": 1}]
    },
    "pids_stats": {"current": 2},
}


def test_stats_figures_are_computed_like_dockers_cli() -> None:
    assert cpu_percent(SAMPLE) == pytest.approx(40.0)
    assert memory_usage(SAMPLE["memory_stats"]) == 2 << 20  # type: ignore[arg-type]
    entry = StatsEntry("web", SAMPLE)
    assert (entry.ID, entry.Name, entry.CPUPerc, entry.MemUsage, entry.MemPerc) == (
        "4f1d2c3b5a6e",
        "web",
        "40.00%",
        "2MiB / 1GiB",
        "0.20%",
    )
    assert (entry.NetIO, entry.BlockIO, entry.PIDs) == ("1.5kB / 0B", "4.1kB / 1B", "2")


def test_stats_no_stream_prints_the_table(engine: FakeEngine) -> None:
    engine.route("GET", "/containers/web/stats", lambda req: Reply.json(SAMPLE))
    result = wharf(engine, "stats", "--no-stream", "web")
    assert result.stdout.splitlines() == [
        "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O      BLOCK I/O    PIDS",
        "4f1d2c3b5a6e   web       40.00%    2MiB / 1GiB         0.20%     1.5kB / 0B   4.1kB / 1B   2",
    ]
    assert engine.requests_to("/containers/web/stats")[0].param("stream") == "0"
    engine.route("GET", "/containers/nope/stats", lambda req: Reply.error(404, "No such container: nope"))
    failed = wharf(engine, "stats", "--no-stream", "web", "nope")
    assert (failed.exit_code, failed.stdout) == (1, "")
    assert failed.stderr == "Error response from daemon: No such container: nope\n"


# -- events -----------------------------------------------------------------------------------------
def test_event_times_parse_like_dockers_timetypes() -> None:
    assert parse_duration("1h30m") == 5400 and parse_duration("-1.5s") == -1.5
    assert parse_duration("10") is None and parse_duration("1x") is None
    assert timestamp("10m", now=1000.5) == "400"
    assert timestamp("1700000000.5") == "1700000000.5"
    assert timestamp("2024-01-02T03:04:05.5Z") == "1704164645.500000000"
    with pytest.raises(ValueError, match='failed to parse value as time or duration: "soon"'):
        timestamp("soon")


def test_events_print_like_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    event = {
        "Type": "container",
        "Action": "start",
        "timeNano": 1_704_164_645_000_000_001,
        "Actor": {"ID": CID, "Attributes": {"name": "x", "image": "busybox"}},
    }
    assert rfc3339_nano(1_704_164_645_000_000_001) == "2024-01-02T03:04:05.000000001Z"
    assert pretty(event) == f"2024-01-02T03:04:05.000000001Z container start {CID} (image=busybox, name=x)"


def test_events_stream_with_filters_and_format(engine: FakeEngine) -> None:
    events = [
        {
            "Type": "container",
            "Action": a,
            "Actor": {"ID": CID, "Attributes": {"name": "x"}},
            "status": a,
            "time": 1,
            "timeNano": 1_000_000_000,
        }
        for a in ("create", "start")
    ]
    body = iter([json.dumps(e).encode() + b"\n" for e in events])
    engine.route("GET", "/events", lambda req: Reply(200, body, {"Content-Type": "application/json"}))
    result = wharf(
        engine,
        "events",
        "--since",
        "5",
        "--until",
        "6",
        "-f",
        "type=container",
        "--format",
        "{{.Status}} {{.Actor.Attributes.name}}",
    )
    assert result.stdout == "create x\nstart x\n"
    request = engine.requests_to("/events")[0]
    assert (request.param("since"), request.param("until")) == ("5", "6")
    assert json.loads(request.param("filters") or "") == {"type": ["container"]}


# -- cp ---------------------------------------------------------------------------------------------
def test_cp_arguments_and_rules() -> None:
    assert split_cp_arg("web:/etc") == ("web", "/etc")
    assert split_cp_arg("/abs:path") == ("", "/abs:path")
    assert split_cp_arg("./a:b") == ("", "./a:b")
    assert split_dir_entry("/a/b/") == ("/a", "b") and split_dir_entry("/a/b/.") == ("/a/b", ".")
    file, folder = CopyInfo("/s/f", True, False), CopyInfo("/s/d", True, True)
    assert prepare(file, CopyInfo("/t", True, True)) == ("/t", "f")
    assert prepare(file, CopyInfo("/t/new", False, False)) == ("/t", "new")
    assert prepare(folder, CopyInfo("/t/new", False, False)) == ("/t", "new")
    assert prepare(CopyInfo("/s/d/.", True, True), CopyInfo("/t", True, True)) == ("/t", ".")
    with pytest.raises(CopyError, match="cannot copy directory"):
        prepare(folder, CopyInfo("/t/file", True, False))
    with pytest.raises(CopyError, match="no such directory"):
        prepare(file, CopyInfo("/t/absent/", False, False))
    assert rebase("d/x/y", "d", "new") == "new/x/y" and rebase("./x", ".", "n") == "n/x"
    assert rebase("other", "d", "new") is None


def _tar(entries: dict[str, bytes | None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_cp_from_container_extracts_under_the_new_name(engine: FakeEngine, tmp_path: Path) -> None:
    stat = {"name": "d", "size": 4096, "mode": (1 << 31) | 0o755, "mtime": "", "linkTarget": ""}
    header = {"X-Docker-Container-Path-Stat": base64.b64encode(json.dumps(stat).encode()).decode()}
    archive = _tar({"d": None, "d/f": b"hi\n"})
    engine.route("GET", "/containers/web/archive", lambda req: Reply(200, archive, header))
    result = wharf(engine, "cp", "web:/d", str(tmp_path / "copy"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "copy" / "f").read_text() == "hi\n"
    assert engine.requests_to("/containers/web/archive")[0].param("path") == "/d"


def test_cp_into_container_uploads_a_renamed_tar(engine: FakeEngine, tmp_path: Path) -> None:
    (tmp_path / "local.txt").write_text("data")
    engine.route("HEAD", "/containers/web/archive", lambda req: Reply(404))
    engine.route("PUT", "/containers/web/archive", lambda req: Reply(200))
    result = wharf(engine, "cp", str(tmp_path / "local.txt"), "web:/tmp/remote.txt")
    assert result.exit_code == 0, result.output
    put = engine.requests_to("/containers/web/archive")[-1]
    assert put.method == "PUT" and put.param("path") == "/tmp"
    with tarfile.open(fileobj=io.BytesIO(put.body)) as tar:
        [member] = tar.getmembers()
        assert (member.name, member.uid) == ("remote.txt", 0)
    assert wharf(engine, "cp", "a", "b").stderr == "must specify at least one container source\n"
