"""Tests for wharf_common.dockerfile.parse: the course's Dockerfiles, stages, lines and forms."""

from __future__ import annotations

import pytest
from wharf_common.dockerfile import (
    Arg,
    Cmd,
    Copy,
    Dockerfile,
    Entrypoint,
    Env,
    From,
    Instruction,
    Onbuild,
    Run,
    Workdir,
    parse,
)


def only_stage(dockerfile: Dockerfile) -> tuple[Instruction, ...]:
    assert len(dockerfile.stages) == 1
    return dockerfile.stages[0].instructions


def single(text: str) -> Instruction:
    """The one instruction after ``FROM scratch``."""
    (instruction,) = only_stage(parse("FROM scratch\n" + text))
    return instruction


def test_parse_figlet_dockerfile_mixes_shell_and_exec_forms() -> None:
    dockerfile = parse('FROM ubuntu\nRUN apt-get update\nRUN ["apt-get", "install", "figlet"]\n')
    stage = dockerfile.stages[0]
    assert stage.base == From(image="ubuntu", line=1, original="FROM ubuntu")
    assert stage.name is None
    assert stage.instructions == (
        Run(command="apt-get update", shell_form=True, line=2, original="RUN apt-get update"),
        Run(
            command=("apt-get", "install", "figlet"),
            shell_form=False,
            line=3,
            original='RUN ["apt-get", "install", "figlet"]',
        ),
    )
    assert dockerfile.args_before_from == ()
    assert dockerfile.escape == "\\"
    assert dockerfile.step_count == 3


def test_parse_entrypoint_and_cmd_combination() -> None:
    instructions = only_stage(
        parse('FROM ubuntu\nENTRYPOINT ["figlet", "-f", "script"]\nCMD ["hello world"]\n')
    )
    assert instructions[0] == Entrypoint(
        command=("figlet", "-f", "script"),
        shell_form=False,
        line=2,
        original='ENTRYPOINT ["figlet", "-f", "script"]',
    )
    assert instructions[1] == Cmd(
        command=("hello world",), shell_form=False, line=3, original='CMD ["hello world"]'
    )


@pytest.mark.parametrize(
    ("text", "command", "shell_form"),
    [
        ("CMD figlet -f script hello", "figlet -f script hello", True),
        ("CMD [bad", "[bad", True),
        ('CMD ["a", "b"] extra', '["a", "b"] extra', True),
        ("CMD ['single', 'quotes']", "['single', 'quotes']", True),
        ("CMD []", (), False),
        ("CMD", "", True),
        ('CMD   [ "spaced" ]  ', ("spaced",), False),
        ('CMD ["a\\\\b", "\\u00e9"]', ("a\\b", "é"), False),
    ],
)
def test_parse_cmd_is_exec_form_only_for_a_valid_json_string_array(
    text: str, command: tuple[str, ...] | str, shell_form: bool
) -> None:
    instruction = single(text)
    assert isinstance(instruction, Cmd)
    assert instruction.command == command
    assert instruction.shell_form is shell_form


def test_parse_onbuild_keeps_the_trigger_text_and_parses_it() -> None:
    instruction = single("ONBUILD COPY . /src")
    assert instruction == Onbuild(
        instruction="COPY . /src",
        trigger=Copy(sources=(".",), dest="/src", line=2, original="COPY . /src"),
        line=2,
        original="ONBUILD COPY . /src",
    )


def test_parse_onbuild_trigger_keeps_its_flags_and_case() -> None:
    instruction = single("onbuild   run  echo hi")
    assert isinstance(instruction, Onbuild)
    assert instruction.instruction == "run  echo hi"
    assert instruction.trigger == Run(command="echo hi", shell_form=True, line=2, original="run  echo hi")
    single_copy = single("ONBUILD COPY --chown=app:app package.json /app/")
    assert isinstance(single_copy, Onbuild)
    assert single_copy.trigger == Copy(
        sources=("package.json",),
        dest="/app/",
        chown="app:app",
        line=2,
        original="COPY --chown=app:app package.json /app/",
    )


def test_parse_multi_stage_build_with_names_and_indexes() -> None:
    dockerfile = parse(
        "FROM golang:1.22 AS Builder\n"
        "COPY hello.c /\n"
        "RUN make hello\n"
        "FROM ubuntu\n"
        "COPY --from=builder /hello /hello\n"
        "COPY --from=0 /hello /hello2\n"
        "CMD /hello\n"
    )
    builder, final = dockerfile.stages
    assert (builder.index, builder.name, builder.base.image) == (0, "builder", "golang:1.22")
    assert (final.index, final.name, final.base.image) == (1, None, "ubuntu")
    assert len(builder.instructions) == 2
    copy_by_name, copy_by_index, cmd = final.instructions
    assert isinstance(copy_by_name, Copy)
    assert isinstance(copy_by_index, Copy)
    assert copy_by_name.from_stage == "builder"
    assert copy_by_index.from_stage == "0"
    assert cmd == Cmd(command="/hello", shell_form=True, line=7, original="CMD /hello")
    assert dockerfile.find_stage("BUILDER") is builder
    assert dockerfile.find_stage("0") is builder
    assert dockerfile.find_stage("1") is final
    assert dockerfile.find_stage("2") is None
    assert dockerfile.find_stage("alpine") is None
    assert dockerfile.step_count == 7
    assert [step.line for step in dockerfile.steps()] == [1, 2, 3, 4, 5, 6, 7]


def test_parse_args_before_the_first_from_are_global() -> None:
    dockerfile = parse("ARG VERSION=22.04\nARG EXTRA\nFROM ubuntu:${VERSION}\nARG VERSION\n")
    assert dockerfile.args_before_from == (
        Arg(pairs=(("VERSION", "22.04"),), line=1, original="ARG VERSION=22.04"),
        Arg(pairs=(("EXTRA", None),), line=2, original="ARG EXTRA"),
    )
    stage = dockerfile.stages[0]
    assert stage.base.image == "ubuntu:${VERSION}"
    assert stage.base.expand({"VERSION": "22.04"}).image == "ubuntu:22.04"
    assert stage.instructions == (Arg(pairs=(("VERSION", None),), line=4, original="ARG VERSION"),)
    assert dockerfile.step_count == 4


def test_parse_from_platform_flag() -> None:
    stage = parse("FROM --platform=linux/amd64 alpine AS base").stages[0]
    assert stage.base == From(
        image="alpine",
        name="base",
        platform="linux/amd64",
        line=1,
        original="FROM --platform=linux/amd64 alpine AS base",
    )


def test_parse_keywords_are_case_insensitive_and_original_keeps_the_case() -> None:
    dockerfile = parse("from ubuntu as Base\nRun echo hi\nwOrKdIr /app\n")
    stage = dockerfile.stages[0]
    assert stage.name == "base"
    assert stage.instructions == (
        Run(command="echo hi", shell_form=True, line=2, original="Run echo hi"),
        Workdir(path="/app", line=3, original="wOrKdIr /app"),
    )


def test_parse_skips_comments_blank_lines_and_leading_whitespace() -> None:
    dockerfile = parse("# a comment\n\n   # indented comment\nFROM ubuntu\n\n\t  RUN echo 'hi'   \n")
    (run,) = only_stage(dockerfile)
    assert run == Run(command="echo 'hi'", shell_form=True, line=6, original="RUN echo 'hi'")


def test_parse_a_hash_inside_an_instruction_is_not_a_comment() -> None:
    run = single("RUN echo hello # world")
    assert isinstance(run, Run)
    assert run.command == "echo hello # world"


def test_parse_joins_continuation_lines_as_docker_prints_them() -> None:
    dockerfile = parse(
        "FROM ubuntu\n"
        "RUN apt-get update \\\n"
        "    && apt-get install -y \\\n"
        "       figlet \\  \n"
        "    && rm -rf /var/lib/apt/lists/*\n"
        "CMD figlet\n"
    )
    run, cmd = only_stage(dockerfile)
    expected = "RUN apt-get update     && apt-get install -y        figlet     && rm -rf /var/lib/apt/lists/*"
    assert run.original == expected
    assert run.line == 2
    assert isinstance(run, Run)
    assert run.command == expected.removeprefix("RUN ")
    assert cmd.line == 6
    assert dockerfile.warnings == ()


def test_parse_skips_comment_and_empty_lines_inside_a_continuation() -> None:
    dockerfile = parse(
        "FROM ubuntu\nRUN apt-get update && \\\n# a comment inside\n    # indented comment\n\n"
        "    apt-get install -y figlet\nCMD figlet\n"
    )
    run, cmd = only_stage(dockerfile)
    assert run.original == "RUN apt-get update &&     apt-get install -y figlet"
    assert (run.line, cmd.line) == (2, 7)
    assert dockerfile.warnings == (
        "[WARNING]: Empty continuation line found in:\n"
        "    RUN apt-get update &&     apt-get install -y figlet",
        "[WARNING]: Empty continuation lines will become errors in a future release.",
    )


def test_parse_an_empty_line_does_not_end_a_continuation_as_docker() -> None:
    dockerfile = parse("FROM ubuntu\nRUN a \\\n\nRUN b\nCMD x\n")
    run, cmd = only_stage(dockerfile)
    assert run == Run(command="a RUN b", shell_form=True, line=2, original="RUN a RUN b")
    assert cmd.line == 5
    assert len(dockerfile.warnings) == 2


def test_parse_a_continuation_at_the_end_of_the_file_ends_the_instruction() -> None:
    run = single("RUN echo hi \\")
    assert run.original == "RUN echo hi"


def test_parse_escape_directive_with_backtick_for_windows_paths() -> None:
    dockerfile = parse(
        "# escape=`\n"
        "\n"
        "FROM mcr.microsoft.com/windows/servercore\n"
        "COPY testfile.txt c:\\\n"
        "RUN dir c:\\ `\n"
        "    && echo done\n"
        "WORKDIR C:\\Users\\app\n"
        "ENV DIR=C:\\Temp MSG=a` b\n"
    )
    assert dockerfile.escape == "`"
    copy, run, workdir, env = only_stage(dockerfile)
    assert copy == Copy(sources=("testfile.txt",), dest="c:\\", line=4, original="COPY testfile.txt c:\\")
    assert run.original == "RUN dir c:\\     && echo done"
    assert (run.line, workdir.line) == (5, 7)
    assert isinstance(workdir, Workdir)
    assert workdir.expand({}, dockerfile.escape).path == "C:\\Users\\app"
    assert isinstance(env, Env)
    assert env.expand({}, dockerfile.escape).pairs == (("DIR", "C:\\Temp"), ("MSG", "a b"))


@pytest.mark.parametrize(
    "header",
    ["# escape=`\n", "#escape = `\n", "  # ESCAPE=`  \n", "# syntax=docker/dockerfile:1\n# escape=`\n"],
)
def test_parse_escape_directive_spellings(header: str) -> None:
    assert parse(header + "FROM scratch\n").escape == "`"


@pytest.mark.parametrize(
    "text",
    [
        "FROM scratch\n# escape=`\n",
        "# comment\n# escape=`\nFROM scratch\n",
        "\n# escape=`\nFROM scratch\n",
        "# unknown=x\n# escape=`\nFROM scratch\n",
    ],
)
def test_parse_escape_directive_counts_only_at_the_very_top(text: str) -> None:
    assert parse(text).escape == "\\"


def test_parse_syntax_directive_is_ignored() -> None:
    dockerfile = parse("# syntax=docker/dockerfile:1.4\nFROM scratch\n")
    assert dockerfile.escape == "\\"
    assert dockerfile.step_count == 1


def test_parse_handles_crlf_and_a_byte_order_mark() -> None:
    dockerfile = parse("\ufeffFROM ubuntu\r\nRUN echo \\\r\n  hi\r\n")
    (run,) = only_stage(dockerfile)
    assert run.original == "RUN echo   hi"


def test_parse_instructions_are_hashable_values() -> None:
    first = parse('FROM ubuntu\nRUN ["a"]\n')
    second = parse('FROM ubuntu\nRUN ["a"]\n')
    assert first == second
    assert hash(first.stages[0].instructions) == hash(second.stages[0].instructions)


def test_package_exports_its_public_api() -> None:
    import wharf_common.dockerfile as package

    assert sorted(package.__all__) == package.__all__
    for name in package.__all__:
        assert getattr(package, name) is not None
    assert {"parse", "expand", "expand_words", "expand_instruction", "Instruction"} <= set(package.__all__)
