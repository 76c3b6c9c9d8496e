"""resolv.conf and --add-host lines as Docker writes them, and the 400s for bad values."""

from __future__ import annotations

from typing import Any

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.network.dnsconfig import extra_hosts, normalize, parse_extra_host, resolv_conf, validate
from wharf_engine.shapes import HostConfig

HOST = (
    "# managed\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example lab.example\noptions edns0\n"
)


def test_default_bridge_keeps_the_host_file_without_loopback_nameservers() -> None:
    assert (
        resolv_conf(HOST, {})
        == "# managed\nnameserver 10.0.0.2\nsearch corp.example lab.example\noptions edns0\n"
    )
    assert resolv_conf("nameserver ::1\n", {}) == "\n"


def test_each_dns_flag_replaces_its_part_only() -> None:
    assert resolv_conf(HOST, {"Dns": ["10.9.9.9", "10.9.9.8"]}) == (
        "nameserver 10.9.9.9\nnameserver 10.9.9.8\nsearch corp.example lab.example\noptions edns0\n"
    )
    assert resolv_conf(HOST, {"DnsSearch": ["a.example"], "DnsOptions": ["ndots:3", "timeout:1"]}) == (
        "nameserver 10.0.0.2\nsearch a.example\noptions ndots:3 timeout:1\n"
    )
    assert resolv_conf(HOST, {"DnsSearch": ["."]}) == "nameserver 10.0.0.2\noptions edns0\n"


def test_user_network_has_the_engine_as_only_nameserver_with_ndots_0() -> None:
    assert resolv_conf(HOST, {"Dns": ["10.9.9.9"]}, embedded="172.31.0.1") == (
        "nameserver 172.31.0.1\nsearch corp.example lab.example\noptions edns0 ndots:0\n"
    )
    assert resolv_conf(HOST, {"DnsOptions": ["ndots:2"]}, embedded="172.31.0.1") == (
        "nameserver 172.31.0.1\nsearch corp.example lab.example\noptions ndots:2\n"
    )


def test_host_network_gets_the_host_file_unless_flags_are_given() -> None:
    assert resolv_conf(HOST, {}, host_network=True) == HOST
    assert resolv_conf(HOST, {"Dns": ["10.9.9.9"]}, host_network=True).startswith("nameserver 10.9.9.9\n")


def test_extra_hosts_lines_in_order_with_host_gateway() -> None:
    config = {"ExtraHosts": ["db:10.0.0.7", "v6=[fd00::1]", "gw:host-gateway", "six:::1"]}
    assert extra_hosts(config, "172.30.0.1") == "10.0.0.7\tdb\nfd00::1\tv6\n172.30.0.1\tgw\n::1\tsix\n"
    assert extra_hosts({}, "172.30.0.1") == ""


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"ExtraHosts": ["nocolon"]}, "bad format for add-host"),
        ({"ExtraHosts": [":10.0.0.1"]}, "bad format for add-host"),
        ({"ExtraHosts": ["db:not-an-ip"]}, "invalid IP address in add-host"),
        ({"Dns": ["dns.example"]}, "invalid IP address in dns"),
        ({"DnsSearch": ["a b"]}, "invalid dns search domain"),
        ({"DnsSearch": [f"d{i}.example" for i in range(7)]}, "too many dns search domains"),
        ({"DnsOptions": [""]}, "invalid dns option"),
    ],
)
def test_bad_values_are_refused_with_the_value_named(config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        validate(config)


def test_good_values_pass() -> None:
    validate(
        {
            "Dns": ["10.0.0.1", "fd00::53"],
            "DnsSearch": ["."],
            "DnsOptions": ["ndots:1"],
            "ExtraHosts": ["a:1.2.3.4", "b=host-gateway"],
        }
    )
    assert parse_extra_host("db:fd00::7") == ("db", "fd00::7")


def test_normalize_fills_what_docker_inspect_shows() -> None:
    config: HostConfig = {"Dns": None, "ExtraHosts": []}
    normalize(config)
    assert config == {"Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None}
    given: HostConfig = {"DnsSearch": ["a.example"], "ExtraHosts": ["db:10.0.0.7"]}
    normalize(given)
    assert given["DnsSearch"] == ["a.example"] and given["ExtraHosts"] == ["db:10.0.0.7"]
