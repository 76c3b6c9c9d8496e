"""HostConfig.LogConfig: drivers, options and sizes, as Docker checks them."""

from __future__ import annotations

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.logs.config import LogSettings, container_settings, normalize, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("100", 100),
        ("10k", 10_000),
        ("10m", 10_000_000),
        ("1.5g", 1_500_000_000),
        ("10MB", 10_000_000),
        ("10MiB", 10 * 1024 * 1024),
        ("2 kb", 2000),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1", "0", "10q"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_size(text)


def test_normalize_and_settings() -> None:
    assert normalize(None) == {"Type": "json-file", "Config": {}}
    assert normalize({"Type": "", "Config": None}) == {"Type": "json-file", "Config": {}}
    kept = normalize({"Type": "json-file", "Config": {"max-size": "1k", "max-file": "3"}})
    assert container_settings({"LogConfig": kept}) == LogSettings("json-file", 1000, 3)
    assert container_settings({"LogConfig": {"Type": "local"}}) == LogSettings("local", 20 * 1024 * 1024, 5)
    assert not container_settings({"LogConfig": {"Type": "none"}}).readable
    assert container_settings({}) == LogSettings()


@pytest.mark.parametrize(
    ("log_config", "message"),
    [
        ({"Type": "gelf"}, "no log driver named 'gelf'"),
        ({"Type": "json-file", "Config": {"max-file": "x"}}, "max-file"),
        ({"Type": "local", "Config": {"labels": "a"}}, "unknown log opt 'labels' for local"),
        ({"Type": "json-file", "Config": {"compress": "true"}}, "compress"),
        ({"Type": "json-file", "Config": "max-size=1m"}, "Config must be an object"),
    ],
)
def test_refused(log_config: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        normalize(log_config)
