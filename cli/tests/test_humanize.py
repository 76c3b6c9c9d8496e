import pytest
from wharf_cli.humanize import (
    container_status,
    ellipsis,
    go_quote,
    parse_timestamp,
    time_ago,
    truncate_id,
)
from wharf_common.humanize import human_duration, human_size


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (59 * 60, "59 minutes"),
        (3600, "About an hour"),
        (3600 * 1.6, "2 hours"),
        (3600 * 47, "47 hours"),
        (3600 * 48, "2 days"),
        (3600 * 24 * 14, "2 weeks"),
        (3600 * 24 * 60, "2 months"),
        (3600 * 24 * 365 * 2, "2 years"),
    ],
)
def test_human_duration_matches_go_units(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0B"), (999, "999B"), (1200, "1.2kB"), (4_261_550, "4.26MB"), (1_500_000_000, "1.5GB")],
)
def test_human_size_uses_decimal_units_and_3_digits(size: int, text: str) -> None:
    assert human_size(size) == text


def test_statuses_like_docker() -> None:
    now = 1_700_000_000.0
    assert container_status({"Running": False, "StartedAt": "0001-01-01T00:00:00Z"}, now) == "Created"
    running = {"Running": True, "StartedAt": "2023-11-14T22:11:20Z"}
    assert container_status(running, now) == "Up 2 minutes"
    exited = {
        "Running": False,
        "ExitCode": 130,
        "StartedAt": "2023-11-14T21:00:00.123456789Z",
        "FinishedAt": "2023-11-14T22:00:20Z",
    }
    assert container_status(exited, now) == "Exited (130) 13 minutes ago"
    assert time_ago(now - 125, now) == "2 minutes ago"


def test_parse_timestamp_handles_nanoseconds_and_zero_time() -> None:
    assert parse_timestamp("1970-01-01T00:00:01.123456789Z") == pytest.approx(1.123456)
    assert parse_timestamp("0001-01-01T00:00:00Z") is None


def test_command_column_is_truncated_and_quoted() -> None:
    command = "sh -c 'while true; do sleep 1; done'"
    assert go_quote(ellipsis(command, 20)) == '"sh -c \'while true; …"'
    assert go_quote('echo "hi"\n') == '"echo \\"hi\\"\\n"'


def test_truncate_id_drops_algorithm() -> None:
    assert truncate_id("sha256:" + "a" * 64) == "a" * 12
    assert truncate_id("b" * 64) == "b" * 12
