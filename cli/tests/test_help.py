"""``wharf --help`` and each command's help laid out as the docker CLI's."""

from __future__ import annotations

from typer.testing import CliRunner
from wharf_cli.main import create_app

runner = CliRunner()


def help_of(*args: str) -> list[str]:
    result = runner.invoke(create_app(args[0] if args else None), [*args, "--help"])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_top_level_help_groups_commands_as_docker() -> None:
    lines = help_of()
    assert lines[:4] == [
        "",
        "Usage:  wharf [OPTIONS] COMMAND",
        "",
        "A self-sufficient runtime for containers",
    ]
    titles = [line for line in lines if line.endswith(":") and not line.startswith(" ")]
    assert titles == ["Common Commands:", "Management Commands:", "Commands:", "Global Options:"]
    management = lines[lines.index("Management Commands:") + 1 : lines.index("Commands:") - 1]
    assert [line.split()[0] for line in management] == ["container", "image", "network", "system", "volume"]
    assert "  run      Create and run a new container from an image" in lines
    assert "  -H, --host string        Engine socket to connect to (unix:///path or tcp://host:port)" in lines
    assert lines[-1] == "Run 'wharf COMMAND --help' for more information on a command."


def test_run_help_has_dockers_usage_and_sorted_pflag_rows() -> None:
    lines = help_of("run")
    assert lines[1] == "Usage:  wharf run [OPTIONS] IMAGE [COMMAND] [ARG...]"
    assert lines[3] == "Create and run a new container from an image"
    rows = lines[lines.index("Options:") + 1 :]
    long_names = [row.split("--", 1)[1].split()[0] for row in rows]
    assert long_names == sorted(long_names)
    by_name = {row.split("--", 1)[1].split()[0]: row for row in rows}
    assert by_name["detach"].startswith("  -d, --detach ")
    assert by_name["env"].startswith("  -e, --env list ")
    assert by_name["rm"].startswith("      --rm ")
    assert by_name["cpu-shares"].startswith("  -c, --cpu-shares int ")
    assert by_name["sig-proxy"].endswith("(default true)")
    assert by_name["pull"].endswith('(default "missing")')
    for flag in (
        "publish-all",
        "link",
        "volumes-from",
        "privileged",
        "expose",
        "env-file",
        "dns",
        "add-host",
        "network",
        "health-cmd",
        "health-interval",
        "health-retries",
    ):
        assert flag in by_name


def test_group_and_subcommand_help() -> None:
    lines = help_of("volume")
    assert lines[1] == "Usage:  wharf volume COMMAND"
    assert "Commands:" in lines and "  ls       List volumes" in lines
    sub = runner.invoke(create_app("volume"), ["volume", "ls", "--help"]).stdout.splitlines()
    assert sub[1] == "Usage:  wharf volume ls [OPTIONS]"
    assert "  -q, --quiet           Only display volume names" in sub
