"""The target policy: URL form, address classes, allow/deny, names that resolve somewhere bad."""

from __future__ import annotations

import pytest
from wharf_hub.webhooks.errors import HostNotFound, TargetRefused
from wharf_hub.webhooks.policy import TargetPolicy

PUBLIC = "93.184.215.14"


def fixed(*addresses: str) -> TargetPolicy:
    """A policy whose resolver answers ``addresses`` for every name (no DNS in unit tests)."""
    return TargetPolicy(resolver=lambda _host, _port: list(addresses))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://127.1.2.3:8080/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[fd00::1]/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://240.0.0.1/", "reserved"),
        ("http://100.64.0.1/", "not a public address"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 written as one number
    ],
)
def test_non_public_addresses_are_refused_by_default(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused, match=reason):
        TargetPolicy().check(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("gopher://example.com/", "Only http:// and https://"),
        ("http://user:pw@example.com/hook", "credentials"),
        ("https://token@example.com/hook", "credentials"),
        ("http:///hook", "needs a host"),
        ("example.com/hook", "Only http:// and https://"),
        ("", "between 1 and"),
        ("http://example.com/" + "a" * 2000, "between 1 and"),
        ("http://exa mple.com/", "spaces or control characters"),
        ("http://example.com/\r\nX-Evil: 1", "spaces or control characters"),
        ("http://[::1/", "Not a valid URL"),
    ],
)
def test_malformed_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(TargetRefused, match=message):
        fixed(PUBLIC).check(url)


def test_public_address_is_accepted_and_pinned() -> None:
    target = fixed(PUBLIC).check("https://hooks.example.com:8443/ci?x=1")
    assert target.address == PUBLIC
    assert str(target.pinned_url) == f"https://{PUBLIC}:8443/ci?x=1"
    assert target.host_header == "hooks.example.com:8443"
    assert target.server_name == "hooks.example.com"


def test_ipv6_target_is_pinned_in_brackets() -> None:
    target = fixed("2606:2800:21f:cb07:6820:80da:af6b:8b2c").check("http://hooks.example.com/x")
    assert str(target.pinned_url) == "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/x"
    assert target.host_header == "hooks.example.com"


def test_loopback_allowed_by_allow_list() -> None:
    policy = TargetPolicy(allow=["127.0.0.0/8"])
    assert policy.check("http://127.0.0.1:9/hook").address == "127.0.0.1"
    with pytest.raises(TargetRefused, match="loopback"):
        policy.check("http://[::1]:9/hook")  # only the IPv4 range was allowed


def test_allow_covers_ipv4_mapped_form() -> None:
    policy = TargetPolicy(allow=["127.0.0.0/8"])
    assert policy.check("http://[::ffff:127.0.0.1]/").address == "::ffff:127.0.0.1"


def test_deny_wins_over_allow() -> None:
    policy = TargetPolicy(allow=["10.0.0.0/8"], deny=["10.9.0.0/16"])
    assert policy.check("http://10.1.0.1/").address == "10.1.0.1"
    with pytest.raises(TargetRefused, match="denied"):
        policy.check("http://10.9.0.1/")


def test_deny_applies_to_public_addresses() -> None:
    policy = TargetPolicy(deny=["93.184.0.0/16"], resolver=lambda _h, _p: [PUBLIC])
    with pytest.raises(TargetRefused, match="denied"):
        policy.check("http://hooks.example.com/")


def test_localhost_name_is_refused_by_default() -> None:
    with pytest.raises(TargetRefused, match=r"localhost resolves to .* loopback"):
        TargetPolicy().check("http://localhost:8080/hook")


def test_name_with_one_bad_address_is_refused() -> None:
    with pytest.raises(TargetRefused, match=r"hooks\.example\.com resolves to 10\.0\.0\.5"):
        fixed(PUBLIC, "10.0.0.5").check("http://hooks.example.com/")


def test_unresolvable_name_is_host_not_found() -> None:
    def fail(_host: str, _port: int) -> list[str]:
        raise OSError("no such name")

    with pytest.raises(HostNotFound, match=r"Cannot resolve the host nowhere\.invalid"):
        TargetPolicy(resolver=fail).check("http://nowhere.invalid/")
    with pytest.raises(HostNotFound):
        fixed().check("http://nowhere.invalid/")


def test_resolver_gets_default_ports_and_idna_name() -> None:
    asked: list[tuple[str, int]] = []

    def record(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return [PUBLIC]

    policy = TargetPolicy(resolver=record)
    policy.check("http://example.com/")
    policy.check("https://bücher.example/")
    assert asked == [("example.com", 80), ("xn--bcher-kva.example", 443)]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("2002:7f00:1::", "carries 127.0.0.1, a loopback address"),  # 6to4
        ("2002:a9fe:a9fe::1", "carries 169.254.169.254, a link-local address"),
        ("2002:c0a8:101::", "carries 192.168.1.1, a private address"),
        ("64:ff9b::7f00:1", "carries 127.0.0.1, a loopback address"),  # NAT64
        ("64:ff9b::a9fe:a9fe", "carries 169.254.169.254, a link-local address"),
        ("64:ff9b:1::a00:1", "local-use NAT64"),
        ("::ffff:10.0.0.1", "carries 10.0.0.1, a private address"),  # IPv4-mapped
        ("::127.0.0.1", "carries 127.0.0.1, a loopback address"),  # IPv4-compatible
        ("::ffff:0:a00:1", "carries 10.0.0.1, a private address"),  # IPv4-translated
        # Teredo: server 10.0.0.1, client 127.0.0.1 (stored inverted: 0x80ff^0xffff, ...)
        ("2001:0:a00:1::80ff:fffe", "10.0.0.1"),
    ],
)
def test_ipv6_addresses_carrying_a_private_ipv4_are_refused(address: str, reason: str) -> None:
    with pytest.raises(TargetRefused, match=reason):
        fixed(address).check("http://hook.example/")


def test_ipv6_forms_of_a_public_ipv4_follow_that_address() -> None:
    for address in ("2002:5db8:d70e::1", "64:ff9b::5db8:d70e", "::ffff:93.184.215.14"):
        assert fixed(address).check("http://hook.example/").address == address
    denied = TargetPolicy(deny=["93.184.215.0/24"], resolver=lambda _h, _p: ["2002:5db8:d70e::1"])
    with pytest.raises(TargetRefused, match="denied"):
        denied.check("http://hook.example/")


def test_allow_covers_the_ipv4_an_ipv6_address_carries() -> None:
    policy = TargetPolicy(allow=["127.0.0.0/8"], resolver=lambda _h, _p: ["2002:7f00:1::"])
    assert policy.check("http://hook.example/").address == "2002:7f00:1::"
