"""Tests for wharf_common.dockerfile errors: Docker's messages, with the line of the instruction."""

from __future__ import annotations

import pytest
from wharf_common.dockerfile import (
    DockerfileSyntaxError,
    SubstitutionError,
    expand_instruction,
    parse,
)
from wharf_common.errors import InvalidArgument


def parse_error(text: str) -> DockerfileSyntaxError:
    with pytest.raises(DockerfileSyntaxError) as caught:
        parse(text)
    return caught.value


def test_unknown_instruction_reports_the_line_as_docker() -> None:
    error = parse_error("FROM ubuntu\nRUN true\nFOO bar\n")
    assert str(error) == "Dockerfile parse error line 3: unknown instruction: FOO"
    assert error.reason == "unknown instruction: FOO"
    assert error.line == 3
    assert isinstance(error, InvalidArgument)
    assert error.status == 400


def test_unknown_instruction_is_uppercased() -> None:
    assert parse_error("FROM ubuntu\nfoo bar\n").reason == "unknown instruction: FOO"


def test_error_line_is_the_first_line_of_a_continued_instruction() -> None:
    error = parse_error("FROM ubuntu\n\nENV \\\n  K\n")
    assert error.line == 3
    assert str(error) == "Dockerfile parse error line 3: ENV must have two arguments"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "# escape=`\n\n  \n"])
def test_file_without_instructions(text: str) -> None:
    error = parse_error(text)
    assert str(error) == "file with no instructions"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("RUN echo hi\nFROM ubuntu\n", 1),
        ("# comment\nARG A=1\n\nMAINTAINER me\nFROM ubuntu\n", 4),
        ("ARG A=1\nARG B\n", 2),
    ],
)
def test_instruction_before_from_has_no_build_stage(text: str, line: int) -> None:
    error = parse_error(text)
    assert str(error) == "no build stage in current context"
    assert error.line == line


@pytest.mark.parametrize(
    ("instruction", "reason"),
    [
        ("ONBUILD ONBUILD RUN touch foobar", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("onbuild onbuild RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("ONBUILD FROM scratch", "FROM isn't allowed as an ONBUILD trigger"),
        ("ONBUILD maintainer me", "MAINTAINER isn't allowed as an ONBUILD trigger"),
        ("ONBUILD", "ONBUILD requires at least one argument"),
        ("ONBUILD BOGUS x", "unknown instruction: BOGUS"),
        ("ENV", "ENV requires at least one argument"),
        ("ENV K", "ENV must have two arguments"),
        ("ENV =value", "ENV names can not be blank"),
        ("ENV A=1 =2", "ENV names can not be blank"),
        ("ENV A=1 B", 'Syntax error - can\'t find = in "B". Must be of the form: name=value'),
        ("LABEL", "LABEL requires at least one argument"),
        ("LABEL only", "LABEL must have two arguments"),
        ("LABEL =x", "LABEL names can not be blank"),
        ("ARG", "ARG requires at least one argument"),
        ("ARG =1", "ARG names can not be blank"),
        ("COPY --foo=bar a b", "unknown flag: --foo"),
        ("COPY --link a b", "unknown flag: --link"),
        ("ADD --from=builder a b", "unknown flag: --from"),
        ("ADD --checksum=sha256:x a b", "unknown flag: --checksum"),
        ("RUN --mount=type=cache,target=/x make", "unknown flag: --mount"),
        ("ENV --x=1 A=B", "unknown flag: --x"),
        ("COPY --from=a --from=b x y", "duplicate flag specified: --from"),
        ("COPY --chown a b", "missing a value on flag: --chown"),
        (
            "COPY onlyone",
            "COPY requires at least two arguments, but only one was provided. "
            "Destination could not be determined",
        ),
        (
            'ADD ["onlyone"]',
            "ADD requires at least two arguments, but only one was provided. "
            "Destination could not be determined",
        ),
        ("FROM", "FROM requires either one or three arguments"),
        ("FROM a b", "FROM requires either one or three arguments"),
        ("FROM a AS b c", "FROM requires either one or three arguments"),
        (
            "FROM a AS 1st",
            'invalid name for build stage: "1st", name can\'t start with a number or contain symbols',
        ),
        (
            "FROM a AS my/stage",
            'invalid name for build stage: "my/stage", name can\'t start with a number or contain symbols',
        ),
        ("FROM --platform linux/amd64 alpine", "missing a value on flag: --platform"),
        ("SHELL /bin/bash -c", "SHELL requires the arguments to be in JSON form"),
        ("SHELL []", "SHELL requires at least one argument"),
        ("SHELL", "SHELL requires at least one argument"),
        ("RUN [1, 2]", "when using JSON array syntax, arrays must be comprised of strings only"),
        ('CMD ["a", null]', "when using JSON array syntax, arrays must be comprised of strings only"),
        ("WORKDIR", "WORKDIR requires exactly one argument"),
        ("USER", "USER requires exactly one argument"),
        ("STOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
        ("MAINTAINER", "MAINTAINER requires exactly one argument"),
        ("EXPOSE", "EXPOSE requires at least one argument"),
        ("VOLUME", "VOLUME requires at least one argument"),
        ("VOLUME []", "VOLUME requires at least one argument"),
        ('VOLUME ["/data", " "]', "VOLUME specified can not be an empty string"),
        ("HEALTHCHECK", "HEALTHCHECK requires at least one argument"),
        ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
        ("HEALTHCHECK PING x", 'Unknown type "PING" in HEALTHCHECK (try CMD)'),
        ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
        ("HEALTHCHECK CMD []", "Missing command after HEALTHCHECK CMD"),
        ("HEALTHCHECK --interval=50us CMD true", 'Interval "interval" cannot be less than 1ms'),
        ("HEALTHCHECK --timeout=-1s CMD true", 'Interval "timeout" cannot be less than 1ms'),
        ("HEALTHCHECK --interval=5 CMD true", 'time: missing unit in duration "5"'),
        ("HEALTHCHECK --interval=1y CMD true", 'time: unknown unit "y" in duration "1y"'),
        ("HEALTHCHECK --interval=abc CMD true", 'time: invalid duration "abc"'),
        ("HEALTHCHECK --retries=0 CMD true", "--retries must be at least 1 (not 0)"),
        ("HEALTHCHECK --retries=x CMD true", 'strconv.ParseInt: parsing "x": invalid syntax'),
        ("HEALTHCHECK --start-interval=1s CMD true", "unknown flag: --start-interval"),
    ],
)
def test_instruction_errors_use_docker_messages(instruction: str, reason: str) -> None:
    error = parse_error(f"FROM ubuntu\n# comment\n{instruction}\n")
    assert error.reason == reason
    assert error.line == 3
    assert str(error) == f"Dockerfile parse error line 3: {reason}"


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        ("# escape=x\nFROM scratch\n", "invalid escape token 'x' does not match ` or \\", 1),
        ("# escape=`\n# escape=\\\nFROM scratch\n", "only one escape parser directive can be used", 2),
        ("# syntax=a\n# syntax=b\nFROM scratch\n", "only one syntax parser directive can be used", 2),
    ],
)
def test_bad_parser_directives(text: str, reason: str, line: int) -> None:
    error = parse_error(text)
    assert error.reason == reason
    assert error.line == line


def test_healthcheck_none_ignores_flags_as_docker() -> None:
    assert parse("FROM a\nHEALTHCHECK --interval=1s NONE\n").step_count == 2


def test_expand_errors_carry_the_instruction_line() -> None:
    instruction = parse("FROM ubuntu\n\nWORKDIR ${HOME\n").stages[0].instructions[0]
    with pytest.raises(SubstitutionError) as caught:
        expand_instruction(instruction, {"HOME": "/root"})
    assert caught.value.line == 3
    assert (
        str(caught.value)
        == "Dockerfile parse error line 3: failed to process \"${HOME\": syntax error: missing '}'"
    )


def test_expose_expand_errors_carry_the_instruction_line() -> None:
    instruction = parse("FROM ubuntu\nEXPOSE '80\n").stages[0].instructions[0]
    with pytest.raises(SubstitutionError) as caught:
        expand_instruction(instruction, {})
    assert caught.value.line == 2
