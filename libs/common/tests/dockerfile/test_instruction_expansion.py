"""Tests for expand_instruction: which instructions Docker expands, and how."""

from __future__ import annotations

import pytest
from wharf_common.dockerfile import (
    Add,
    Arg,
    Copy,
    Env,
    Expose,
    From,
    Instruction,
    Label,
    StopSignal,
    User,
    Volume,
    Workdir,
    expand_instruction,
    parse,
)

ENV = {"HOME": "/root", "UID": "1000", "PORTS": "80 443", "abc": "hello", "EMPTY": ""}


def expanded(text: str, env: dict[str, str] = ENV) -> Instruction:
    dockerfile = parse("FROM scratch\n" + text)
    (instruction,) = dockerfile.stages[0].instructions
    return expand_instruction(instruction, env, dockerfile.escape)


def test_env_pairs_all_see_the_environment_before_the_instruction() -> None:
    env = expanded("ENV abc=bye def=$abc")
    assert isinstance(env, Env)
    assert env.pairs == (("abc", "bye"), ("def", "hello"))
    assert env.original == "ENV abc=bye def=$abc"


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        ('ENV A "x y"', (("A", "x y"),)),
        ("ENV A x   y", (("A", "x   y"),)),
        ("ENV A='$HOME' B=\"$HOME\" C=$HOME", (("A", "$HOME"), ("B", "/root"), ("C", "/root"))),
        ("ENV A=\\$HOME", (("A", "$HOME"),)),
        (
            "ENV A=${MISSING:-default} B=${EMPTY:-x} C=${HOME:+set}",
            (("A", "default"), ("B", "x"), ("C", "set")),
        ),
        ("ENV A=$MISSING", (("A", ""),)),
        ("ENV PATH=/opt/bin:$PATH", (("PATH", "/opt/bin:"),)),
    ],
)
def test_env_values_lose_quotes_and_escapes(text: str, pairs: tuple[tuple[str, str], ...]) -> None:
    env = expanded(text)
    assert isinstance(env, Env)
    assert env.pairs == pairs


def test_label_arg_workdir_user_stopsignal_are_expanded() -> None:
    assert isinstance(label := expanded('LABEL home="$HOME dir"'), Label)
    assert label.pairs == (("home", "/root dir"),)
    assert isinstance(arg := expanded("ARG DIR=$HOME/src OTHER"), Arg)
    assert arg.pairs == (("DIR", "/root/src"), ("OTHER", None))
    assert isinstance(workdir := expanded("WORKDIR ${HOME}/app"), Workdir)
    assert workdir.path == "/root/app"
    assert isinstance(user := expanded("USER ${UID}:${GID:-1000}"), User)
    assert user.user == "1000:1000"
    assert isinstance(signal := expanded("STOPSIGNAL ${SIG:-SIGQUIT}"), StopSignal)
    assert signal.signal == "SIGQUIT"


def test_expose_splits_expanded_words() -> None:
    expose = expanded("EXPOSE $PORTS 8080/tcp")
    assert isinstance(expose, Expose)
    assert expose.ports == ("80", "443", "8080/tcp")


def test_volume_paths_are_expanded_one_by_one() -> None:
    volume = expanded('VOLUME ["$HOME/data", "/var/log"]')
    assert isinstance(volume, Volume)
    assert volume.paths == ("/root/data", "/var/log")


def test_copy_and_add_expand_sources_destination_and_chown_not_from() -> None:
    copy = expanded("COPY --from=$STAGE --chown=${UID}:${UID} $HOME/a b ${HOME}/")
    assert isinstance(copy, Copy)
    assert (copy.sources, copy.dest, copy.chown, copy.from_stage) == (
        ("/root/a", "b"),
        "/root/",
        "1000:1000",
        "$STAGE",
    )
    add = expanded("ADD --chmod=${MODE:-755} x.tar.gz $HOME")
    assert isinstance(add, Add)
    assert (add.sources, add.dest, add.chmod) == (("x.tar.gz",), "/root", "755")


@pytest.mark.parametrize(
    "text",
    [
        "RUN echo $HOME",
        'RUN ["echo", "$HOME"]',
        "CMD echo $HOME",
        'ENTRYPOINT ["$HOME/bin"]',
        'SHELL ["/bin/$SHELL", "-c"]',
        "HEALTHCHECK CMD test -d $HOME",
        "MAINTAINER $HOME",
        "ONBUILD WORKDIR $HOME",
    ],
)
def test_run_cmd_entrypoint_and_others_are_left_for_the_shell(text: str) -> None:
    dockerfile = parse("FROM scratch\n" + text)
    (instruction,) = dockerfile.stages[0].instructions
    assert expand_instruction(instruction, ENV) is instruction


def test_from_is_expanded_only_with_global_args() -> None:
    dockerfile = parse("ARG TAG=22.04\nFROM --platform=$PLATFORM ubuntu:${TAG}\n")
    base = dockerfile.stages[0].base
    assert expand_instruction(base, ENV) is base
    assert base.expand({"TAG": "24.04", "PLATFORM": "linux/arm64"}) == From(
        image="ubuntu:24.04",
        platform="linux/arm64",
        line=2,
        original="FROM --platform=$PLATFORM ubuntu:${TAG}",
    )


def test_expand_with_backtick_escape_keeps_backslashes() -> None:
    dockerfile = parse("# escape=`\nFROM scratch\nCOPY src C:\\app`$HOME\\\n")
    (copy,) = dockerfile.stages[0].instructions
    result = expand_instruction(copy, ENV, dockerfile.escape)
    assert isinstance(result, Copy)
    assert result.dest == "C:\\app$HOME\\"
