from pathlib import Path

import pytest
from wharf_cli.containerspec import (
    RunOptions,
    SpecError,
    attach_streams,
    build_create_body,
    familiar_image,
    parse_env,
    parse_env_file,
    parse_expose,
    parse_publish,
)


def test_env_passes_through_local_values() -> None:
    assert parse_env(["A=1", "HOME", "MISSING"], {"HOME": "/root"}) == ["A=1", "HOME=/root", "MISSING"]


def test_attach_defaults_like_docker() -> None:
    assert attach_streams(RunOptions("busybox")) == (False, True, True)
    assert attach_streams(RunOptions("busybox", interactive=True)) == (True, True, True)
    assert attach_streams(RunOptions("busybox", attach=["STDERR"])) == (False, False, True)
    assert attach_streams(RunOptions("busybox", detach=True)) == (False, False, False)
    with pytest.raises(SpecError):
        attach_streams(RunOptions("busybox", detach=True, attach=["stdout"]))


def test_create_body_for_interactive_tty_with_rm() -> None:
    opts = RunOptions(
        "busybox",
        command=["sh"],
        interactive=True,
        tty=True,
        auto_remove=True,
        labels=["a=b", "flag"],
        console_size=(24, 80),
    )
    body = build_create_body(opts)
    assert body["Cmd"] == ["sh"]
    assert body["Tty"] and body["OpenStdin"] and body["StdinOnce"] and body["AttachStdin"]
    assert body["Labels"] == {"a": "b", "flag": ""}
    assert body["HostConfig"]["AutoRemove"] is True
    assert body["HostConfig"]["ConsoleSize"] == [24, 80]
    assert body["Entrypoint"] is None


def test_publish_parsing() -> None:
    exposed, bindings = parse_publish(["8080:80", "127.0.0.1:53:53/udp", "443"])
    assert set(exposed) == {"80/tcp", "53/udp", "443/tcp"}
    assert bindings["53/udp"] == [{"HostIp": "127.0.0.1", "HostPort": "53"}]
    assert bindings["443/tcp"] == [{"HostIp": "", "HostPort": ""}]


def test_familiar_image_adds_latest() -> None:
    assert familiar_image("busybox") == "busybox:latest"
    assert familiar_image("localhost:5000/busybox") == "localhost:5000/busybox:latest"
    assert familiar_image("busybox:1.36") == "busybox:1.36"


def test_create_body_carries_dns_flags_and_extra_hosts() -> None:
    body = build_create_body(
        RunOptions(
            image="busybox",
            dns=["10.0.0.53"],
            dns_search=["corp.example"],
            dns_options=["ndots:2"],
            add_hosts=["db:10.0.0.7"],
        )
    )
    host = body["HostConfig"]
    assert (host["Dns"], host["DnsSearch"], host["DnsOptions"]) == (
        ["10.0.0.53"],
        ["corp.example"],
        ["ndots:2"],
    )
    assert host["ExtraHosts"] == ["db:10.0.0.7"]
    assert build_create_body(RunOptions(image="busybox"))["HostConfig"]["ExtraHosts"] is None


def test_network_alias_ip_and_mac_go_to_the_networks_endpoint() -> None:
    opts = RunOptions(
        "busybox", network="back", network_aliases=["db"], ip="10.9.0.5", mac_address="02:42:00:00:00:09"
    )
    body = build_create_body(opts)
    assert body["HostConfig"]["NetworkMode"] == "back"
    assert body["NetworkingConfig"] == {
        "EndpointsConfig": {
            "back": {
                "Aliases": ["db"],
                "IPAMConfig": {"IPv4Address": "10.9.0.5"},
                "MacAddress": "02:42:00:00:00:09",
            }
        }
    }
    assert build_create_body(RunOptions("busybox"))["NetworkingConfig"] == {"EndpointsConfig": {}}
    with pytest.raises(SpecError):
        build_create_body(RunOptions("busybox", network_aliases=["db"]))  # the default bridge has no aliases


def test_env_file_lines_come_before_env_flags(tmp_path: Path) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("# comment\n\nA=from file\n  B=2\nHOME\nUNSET\nC=\n")
    assert parse_env_file(str(env_file), {"HOME": "/root"}) == ["A=from file", "B=2", "HOME=/root", "C="]
    body = build_create_body(RunOptions("busybox", env=["A=flag"], env_files=[str(env_file)]))
    assert body["Env"][0] == "A=from file" and body["Env"][-1] == "A=flag"


def test_env_file_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"open .*missing.env: no such file or directory"):
        parse_env_file(str(tmp_path / "missing.env"))
    bad = tmp_path / "bad.env"
    bad.write_text("MY VAR=1\n")
    with pytest.raises(SpecError, match="variable 'MY VAR' contains whitespaces"):
        parse_env_file(str(bad))


def test_expose_adds_ports_and_ranges_without_publishing() -> None:
    assert parse_expose(["80", "53/udp", "7000-7002"]) == {
        "80/tcp": {},
        "53/udp": {},
        "7000/tcp": {},
        "7001/tcp": {},
        "7002/tcp": {},
    }
    body = build_create_body(RunOptions("busybox", expose=["80"], publish=["8080:81"]))
    assert body["ExposedPorts"] == {"80/tcp": {}, "81/tcp": {}}
    assert body["HostConfig"]["PortBindings"] == {"81/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    with pytest.raises(SpecError, match="invalid range format for --expose"):
        parse_expose(["9-1"])


def test_stop_signal_and_timeout_go_into_config() -> None:
    body = build_create_body(RunOptions("busybox", stop_signal="SIGINT", stop_timeout=3))
    assert (body["StopSignal"], body["StopTimeout"]) == ("SIGINT", 3)
    assert "StopSignal" not in build_create_body(RunOptions("busybox"))
