"""The fast path (``wharf_cli.fast``) parses what typer parses into the same arguments, leaves the rest
to typer, and prints, fails and exits as typer's commands do."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner
from wharf_cli.fast import FAST_COMMANDS, GLOBAL_SPEC
from wharf_cli.fast.flags import FLAG, INT, LIST, OFF, VALUE, Spec, parse
from wharf_cli.fast.run import DEFAULTS as RUN_DEFAULTS
from wharf_cli.main import create_app, main
from wharf_client import STDERR, STDOUT, encode_frame
from wharf_client.testing import FakeEngine, FakeRequest, Reply, write_upgrade

CID = "4f1d2c3b5a6e" + "0" * 52
runner = CliRunner()


def fast_module(command: str) -> Any:
    return importlib.import_module(f"wharf_cli.fast.{FAST_COMMANDS[command][0]}")


def spec_of(command: str) -> Spec:
    spec: Spec = getattr(fast_module(command), FAST_COMMANDS[command][1])
    return spec


def click_command(command: str) -> Any:
    return typer.main.get_command(create_app(command)).commands[command]  # type: ignore[attr-defined]


def kind_of(param: Any) -> str:
    if param.is_flag:
        return FLAG
    if param.multiple:
        return LIST
    return INT if param.type_descriptor.annotation is int else VALUE


def defaults_of(command: str) -> dict[str, Any]:
    """What the body takes for a parameter that is not on the command line."""
    if FAST_COMMANDS[command][0] == "run":
        return dict(RUN_DEFAULTS)
    body = getattr(fast_module(command), FAST_COMMANDS[command][2])
    return dict(body.__kwdefaults__)


@pytest.mark.parametrize("command", sorted(FAST_COMMANDS))
def test_flag_tables_describe_typers_options(command: str) -> None:
    expected: dict[str, tuple[str, str]] = {}
    arguments = []
    for param in click_command(command).params:
        if param.param_type_name == "argument":
            suffix = "" if param.nargs == 1 else ("+" if param.required else "*")
            arguments.append(param.name + suffix)
            continue
        assert param.envvar is None and param.nargs == 1, param.name
        for opt in param.opts:
            expected[opt] = (param.name, kind_of(param))
        for opt in param.secondary_opts:
            expected[opt] = (param.name, OFF)
    spec = spec_of(command)
    assert spec.options == expected
    assert list(spec.args) == arguments
    context = click_command(command).context_settings
    assert spec.interspersed == context.get("allow_interspersed_args", True)


def test_global_table_describes_the_global_options() -> None:
    group: Any = typer.main.get_command(create_app("ps"))
    expected = {opt: (p.name, FLAG if p.is_flag else VALUE) for p in group.params for opt in p.opts}
    assert GLOBAL_SPEC.options == expected


@pytest.mark.parametrize("command", sorted(FAST_COMMANDS))
def test_bodies_default_as_typer_does(command: str) -> None:
    params = {p.name: p.default for p in click_command(command).params if p.param_type_name == "option"}
    defaults = defaults_of(command)
    assert {name: defaults[name] for name in params} == params


PARSED = [
    ("ps", []),
    ("ps", ["-a", "-q", "--no-trunc"]),
    ("ps", ["-aq", "-n", "3", "-f", "status=exited", "--filter=name=web", "-fid=1"]),
    ("ps", ["--format", "table {{.Names}}\\t{{.State}}", "-s", "-l", "--last=-2", "-n+4"]),
    ("ps", ["--format=", "--last", " 5 "]),
    ("logs", ["web"]),
    ("logs", ["-f", "web", "-t", "--tail=5", "--since", "10m", "--until=2024-01-01"]),
    ("logs", ["-ftn", "3", "--", "-web"]),
    ("exec", ["web", "ls", "-la", "--color"]),
    ("exec", ["-it", "-u", "0", "-w/tmp", "-e", "A=1", "--env=B", "-eC=3", "web", "sh", "-c", "x"]),
    ("exec", ["-d", "--privileged", "--", "web", "true"]),
    ("run", ["busybox"]),
    ("run", ["--rm", "busybox", "true"]),
    ("run", ["-it", "--name", "x", "-e=A", "-eB=1", "busybox", "sh", "-c", "echo -e hi"]),
    ("run", ["-d", "-p", "80:80", "-P", "--net", "host", "-v/a:/b", "-m", "512m", "-c", "2", "busybox"]),
    ("run", ["--no-sig-proxy", "--sig-proxy", "--health-retries", "3", "--pull=never", "-q", "busybox"]),
    ("run", ["busybox", "--", "true"]),
    ("run", ["--", "busybox", "-d"]),
    ("run", ["-", "x"]),
    ("create", ["--name", "web", "-P", "--link", "db:db", "busybox", "top"]),
]


@pytest.mark.parametrize(("command", "args"), PARSED)
def test_fast_parse_gives_typers_arguments(
    command: str, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []
    module_name = {"ps": "ps", "logs": "logs", "exec": "exec", "run": "run", "create": "run"}[command]
    typer_module = importlib.import_module(f"wharf_cli.commands.container.{module_name}")
    if module_name == "run":
        monkeypatch.setattr(typer_module, "launch", lambda flags, start: seen.append(dict(flags)))
    else:
        monkeypatch.setattr(typer_module, f"run_{module_name}", lambda **kwargs: seen.append(kwargs))
    result = runner.invoke(create_app(command), [command, *args])
    assert result.exit_code == 0, result.output
    parsed = parse(spec_of(command), args)
    assert parsed is not None
    assert {**defaults_of(command), **parsed} == {**defaults_of(command), **seen[0]}


LEFT_TO_TYPER = [
    ("ps", ["--help"]),
    ("ps", ["-x"]),
    ("ps", ["--all=1"]),
    ("ps", ["-n"]),
    ("ps", ["-n", "two"]),
    ("ps", ["extra"]),
    ("ps", ["-h"]),
    ("logs", []),
    ("logs", ["a", "b"]),
    ("exec", ["web"]),
    ("exec", ["-it"]),
    ("run", []),
    ("run", ["--rm=true", "busybox"]),
    ("run", ["--bogus", "busybox"]),
    ("run", ["-c", "1.5", "busybox"]),
    ("create", ["-d", "busybox"]),
]


@pytest.mark.parametrize(("command", "args"), LEFT_TO_TYPER)
def test_what_typer_would_refuse_is_left_to_it(command: str, args: list[str]) -> None:
    assert parse(spec_of(command), args) is None


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    with FakeEngine(tmp_path / "engine.sock") as fake:
        yield fake


def through_both(
    engine: FakeEngine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """Run ``wharf -H <engine> args`` by the fast path and by typer; both must end the same way."""
    argv = ["-H", engine.url, *args]
    with monkeypatch.context() as patch:
        patch.setattr(sys.modules["wharf_cli.main"], "create_app", _no_typer)
        try:
            code: Any = main(argv)
        except SystemExit as exit_:
            code = exit_.code
    fast = (code or 0, *capsys.readouterr())
    slow = runner.invoke(create_app(args[0]), argv)
    assert fast == (slow.exit_code, slow.stdout, slow.stderr)
    return fast


def _no_typer(command: str | None = None) -> Any:
    raise AssertionError(f"{command} went to typer")


def test_ps_prints_and_fails_as_typer(
    engine: FakeEngine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    container = {"Id": CID, "Names": ["/web"], "Image": "busybox", "Command": "top", "Created": 1}
    container.update({"Ports": [], "State": "running", "Status": "Up 2 minutes"})
    engine.route("GET", "/containers/json", lambda req: Reply.json([container]))
    assert through_both(engine, capsys, monkeypatch, "ps", "-q")[1] == CID[:12] + "\n"
    through_both(engine, capsys, monkeypatch, "ps", "-a", "--format", "table {{.Names}}\\t{{.State}}")
    code, _, err = through_both(engine, capsys, monkeypatch, "ps", "-f", "status")
    assert code == 1 and "bad format of filter" in err
    code, _, err = through_both(engine, capsys, monkeypatch, "ps", "--format", "{{.Nope")
    assert code != 0 and err.startswith("template parsing error")


def test_engine_errors_and_a_missing_engine_end_as_under_typer(
    engine: FakeEngine,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    engine.route("GET", "/containers/nope/json", lambda req: Reply.error(404, "No such container: nope"))
    code, _, err = through_both(engine, capsys, monkeypatch, "logs", "nope")
    assert (code, err) == (1, "Error response from daemon: No such container: nope\n")
    code, _, err = through_both(engine, capsys, monkeypatch, "exec", "nope", "true")
    assert (code, err) == (1, "Error response from daemon: No such container: nope\n")
    missing = f"unix://{tmp_path}/none.sock"
    assert main(["-H", missing, "ps"]) == 1
    assert (
        capsys.readouterr().err
        == f"Cannot connect to the wharf engine at {missing}: is the engine running?\n"
    )


def test_logs_and_exec_detached_as_typer(
    engine: FakeEngine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.route("GET", "/containers/c/json", lambda req: Reply.json({"Id": CID, "Config": {"Tty": False}}))
    frames = encode_frame(STDOUT, b"out\n") + encode_frame(STDERR, b"err\n")
    engine.route("GET", f"/containers/{CID}/logs", lambda req: Reply(200, [frames]))
    assert through_both(engine, capsys, monkeypatch, "logs", "-t", "c") == (0, "out\n", "err\n")
    engine.route("POST", "/containers/c/exec", lambda req: Reply.json({"Id": "e1"}, 201))
    engine.route("POST", "/exec/e1/start", lambda req: Reply(200))
    assert through_both(engine, capsys, monkeypatch, "exec", "-d", "c", "true") == (0, "", "")


def test_run_exits_with_the_containers_status_as_typer(
    engine: FakeEngine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.route("POST", "/containers/create", lambda req: Reply.json({"Id": CID, "Warnings": []}, 201))
    engine.route("POST", "/containers/[^/]+/start", lambda req: Reply(204))

    def attach(req: FakeRequest) -> None:
        write_upgrade(req.sock, multiplexed=True)
        req.sock.sendall(encode_frame(STDOUT, b"hi\n"))
        req.sock.close()

    engine.route("POST", "/containers/[^/]+/attach", attach)
    engine.route("POST", "/containers/[^/]+/wait", lambda req: Reply(200, [b'{"StatusCode":3}']))
    assert through_both(engine, capsys, monkeypatch, "run", "--rm", "busybox", "sh") == (3, "hi\n", "")
    assert through_both(engine, capsys, monkeypatch, "create", "busybox") == (0, CID + "\n", "")
    code, _, err = through_both(engine, capsys, monkeypatch, "run", "--pull", "sometimes", "busybox")
    assert code == 125 and "invalid pull option" in err


def test_a_run_uses_three_connections_as_the_docker_cli(engine: FakeEngine) -> None:
    """One kept alive for ping, create and the hijacked attach; the wait's; the start's."""
    engine.route("POST", "/containers/create", lambda req: Reply.json({"Id": CID, "Warnings": []}, 201))
    engine.route("POST", "/containers/[^/]+/start", lambda req: Reply(204))

    def attach(req: FakeRequest) -> None:
        write_upgrade(req.sock, multiplexed=True)
        req.sock.close()

    engine.route("POST", "/containers/[^/]+/attach", attach)
    engine.route("POST", "/containers/[^/]+/wait", lambda req: Reply(200, [b'{"StatusCode":0}']))
    with pytest.raises(SystemExit) as exit_:
        main(["-H", engine.url, "run", "--rm", "busybox", "true"])
    assert exit_.value.code == 0
    steps = [(r.method, r.path.rsplit("/", 1)[-1], r.connection) for r in engine.requests]
    assert steps == [
        ("HEAD", "_ping", 1),
        ("POST", "create", 1),
        ("POST", "attach", 1),
        ("POST", "wait", 2),
        ("POST", "start", 3),
    ]


def test_wharf_cli_fast_0_and_completion_go_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    from wharf_cli.fast import run_fast

    monkeypatch.setenv("WHARF_CLI_FAST", "0")
    assert run_fast(["ps"]) is False
    monkeypatch.delenv("WHARF_CLI_FAST")
    monkeypatch.setenv("_WHARF_COMPLETE", "bash_complete")
    assert run_fast(["ps"]) is False
    monkeypatch.delenv("_WHARF_COMPLETE")
    assert run_fast(["-H", "unix:///x", "image", "ls"]) is False
    assert run_fast(["--tlsverify", "ps", "--help"]) is False
