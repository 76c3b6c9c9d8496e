"""Tests for wharf_common.dockerfile.parse: the arguments, flags and forms of each instruction."""

from __future__ import annotations

import pytest
from wharf_common.dockerfile import (
    Add,
    Arg,
    Copy,
    Env,
    Expose,
    Healthcheck,
    Instruction,
    Label,
    Maintainer,
    Shell,
    StopSignal,
    User,
    Volume,
    Workdir,
    parse,
)


def single(text: str) -> Instruction:
    """The one instruction after ``FROM scratch``."""
    (instruction,) = parse("FROM scratch\n" + text).stages[0].instructions
    return instruction


def test_parse_env_both_forms_keep_words_as_written() -> None:
    assert single("ENV PATH /usr/local/bin:$PATH") == Env(
        pairs=(("PATH", "/usr/local/bin:$PATH"),), line=2, original="ENV PATH /usr/local/bin:$PATH"
    )
    assert single('ENV K=V K2="v 2" K3=a\\ b') == Env(
        pairs=(("K", "V"), ("K2", '"v 2"'), ("K3", "a\\ b")),
        line=2,
        original='ENV K=V K2="v 2" K3=a\\ b',
    )
    assert single("ENV MSG hello  big world") == Env(
        pairs=(("MSG", "hello  big world"),), line=2, original="ENV MSG hello  big world"
    )
    assert single("ENV EMPTY=") == Env(pairs=(("EMPTY", ""),), line=2, original="ENV EMPTY=")


def test_parse_label_pairs() -> None:
    label = single('LABEL maintainer="me@example.com" version=1.0 "com.example.x"="y"')
    assert isinstance(label, Label)
    assert label.pairs == (("maintainer", '"me@example.com"'), ("version", "1.0"), ('"com.example.x"', '"y"'))
    assert label.expand({}).pairs == (
        ("maintainer", "me@example.com"),
        ("version", "1.0"),
        ("com.example.x", "y"),
    )


def test_parse_arg_with_several_names() -> None:
    assert single("ARG A=1 B C=") == Arg(
        pairs=(("A", "1"), ("B", None), ("C", "")), line=2, original="ARG A=1 B C="
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EXPOSE 80 443/udp", Expose(ports=("80", "443/udp"), line=2, original="EXPOSE 80 443/udp")),
        ("USER app:app", User(user="app:app", line=2, original="USER app:app")),
        ("STOPSIGNAL SIGTERM", StopSignal(signal="SIGTERM", line=2, original="STOPSIGNAL SIGTERM")),
        (
            "MAINTAINER Jane Doe <jane@example.com>",
            Maintainer(
                name="Jane Doe <jane@example.com>", line=2, original="MAINTAINER Jane Doe <jane@example.com>"
            ),
        ),
        (
            'VOLUME ["/data", "/logs"]',
            Volume(paths=("/data", "/logs"), line=2, original='VOLUME ["/data", "/logs"]'),
        ),
        ("VOLUME /data /logs", Volume(paths=("/data", "/logs"), line=2, original="VOLUME /data /logs")),
        (
            'SHELL ["powershell", "-command"]',
            Shell(shell=("powershell", "-command"), line=2, original='SHELL ["powershell", "-command"]'),
        ),
        ("WORKDIR /a b", Workdir(path="/a b", line=2, original="WORKDIR /a b")),
    ],
)
def test_parse_simple_instructions(text: str, expected: Instruction) -> None:
    assert single(text) == expected


def test_parse_copy_flags_and_json_form() -> None:
    assert single("COPY --from=builder --chown=1:1 --chmod=644 a b /dst/") == Copy(
        sources=("a", "b"),
        dest="/dst/",
        from_stage="builder",
        chown="1:1",
        chmod="644",
        line=2,
        original="COPY --from=builder --chown=1:1 --chmod=644 a b /dst/",
    )
    copy = single('COPY ["my file.txt", "/dst dir/"]')
    assert isinstance(copy, Copy)
    assert (copy.sources, copy.dest) == (("my file.txt",), "/dst dir/")


def test_parse_copy_shell_form_keeps_quoted_words_together() -> None:
    copy = single('COPY "my file.txt" $SRC /dst/')
    assert isinstance(copy, Copy)
    assert copy.sources == ('"my file.txt"', "$SRC")
    expanded = copy.expand({"SRC": "x y"})
    assert (expanded.sources, expanded.dest) == (("my file.txt", "x y"), "/dst/")


def test_parse_flag_values_may_be_quoted() -> None:
    copy = single('COPY --chown="app user":"app" a /b')
    assert isinstance(copy, Copy)
    assert copy.chown == "app user:app"


def test_parse_double_dash_ends_flags() -> None:
    copy = single("COPY -- --weird-name /dst")
    assert isinstance(copy, Copy)
    assert copy.sources == ("--weird-name",)


def test_parse_add_with_chown() -> None:
    assert single("ADD --chown=app https://example.com/x.tgz /opt/") == Add(
        sources=("https://example.com/x.tgz",),
        dest="/opt/",
        chown="app",
        line=2,
        original="ADD --chown=app https://example.com/x.tgz /opt/",
    )


def test_parse_healthcheck_forms_and_flags() -> None:
    assert single("HEALTHCHECK NONE") == Healthcheck(test=("NONE",), line=2, original="HEALTHCHECK NONE")
    check = single(
        "HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --retries=3 CMD curl -f http://localhost/"
    )
    assert isinstance(check, Healthcheck)
    assert check.test == ("CMD-SHELL", "curl -f http://localhost/")
    assert (check.interval_ns, check.timeout_ns, check.start_period_ns, check.retries) == (
        300_000_000_000,
        3_000_000_000,
        90_000_000_000,
        3,
    )
    exec_form = single('HEALTHCHECK cmd ["/bin/check", "--fast"]')
    assert isinstance(exec_form, Healthcheck)
    assert exec_form.test == ("CMD", "/bin/check", "--fast")
    assert (exec_form.interval_ns, exec_form.retries) == (0, 0)
