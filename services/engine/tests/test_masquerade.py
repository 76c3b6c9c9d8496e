"""The NAT rule text only: outbound masquerade stays off in every test that runs containers."""

from __future__ import annotations

import subprocess

import pytest
from wharf_engine.network.masquerade import ruleset


def test_ruleset_masquerades_only_the_bridge_subnet_leaving_elsewhere() -> None:
    rules = ruleset("wharf0", "172.30.0.0/16")
    assert "table ip wharf_wharf0" in rules
    assert 'ip saddr 172.30.0.0/16 oifname != "wharf0" masquerade' in rules


def test_ruleset_is_valid_nftables_syntax() -> None:
    check = subprocess.run(
        ["nft", "--check", "-f", "-"], input=ruleset("whx0", "10.9.9.0/24"), capture_output=True, text=True
    )
    if check.returncode != 0 and "Operation not permitted" in check.stderr:
        pytest.skip("nft --check needs CAP_NET_ADMIN")
    assert check.returncode == 0, check.stderr
