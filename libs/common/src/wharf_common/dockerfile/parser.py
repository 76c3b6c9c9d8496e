"""``parse(text) -> Dockerfile``: the classic builder's Dockerfile parser.

Reading follows ``buildkit/frontend/dockerfile/parser`` (see ``_lines.py`` for
directives, comments and continuations, ``_words.py`` for flags, words and
JSON) and typing follows ``instructions/parse.go`` (``_builders.py``). Every
``FROM`` starts a :class:`Stage`; ARGs before the first FROM are global (they
are the only variables FROM can use); any other instruction before the first
FROM is an error.

Not supported, as in the classic builder: heredocs (``RUN <<EOF``), ``RUN
--mount`` and other BuildKit flags (refused as ``unknown flag``), and the
``# syntax=`` directive (accepted and ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from wharf_common.dockerfile._builders import build_instruction
from wharf_common.dockerfile._lines import read_lines
from wharf_common.dockerfile.errors import DockerfileSyntaxError
from wharf_common.dockerfile.instructions import Arg, From, Instruction

_NO_STAGE = "no build stage in current context"


@dataclass(frozen=True, slots=True)
class Stage:
    """One ``FROM`` and the instructions up to the next: ``index`` counts from 0."""

    index: int
    base: From
    instructions: tuple[Instruction, ...]

    @property
    def name(self) -> str | None:
        """The lowercased ``AS`` name, or None."""
        return self.base.name


@dataclass(frozen=True, slots=True)
class Dockerfile:
    """A parsed Dockerfile.

    ``escape`` is the escape character (``\\`` or, after ``# escape=```, a
    backtick); pass it to the ``expand`` functions. ``warnings`` are Docker's
    ``[WARNING]`` lines (empty continuation lines), for the build output.
    """

    stages: tuple[Stage, ...]
    args_before_from: tuple[Arg, ...]
    escape: str = "\\"
    warnings: tuple[str, ...] = ()

    @property
    def step_count(self) -> int:
        """The ``M`` of ``Step N/M``: global ARGs, FROMs and every other instruction."""
        return len(self.args_before_from) + sum(1 + len(stage.instructions) for stage in self.stages)

    def steps(self) -> Iterator[Instruction]:
        """Every instruction in file order: the global ARGs, then each FROM and its stage."""
        yield from self.args_before_from
        for stage in self.stages:
            yield stage.base
            yield from stage.instructions

    def find_stage(self, ref: str) -> Stage | None:
        """The stage ``COPY --from=ref`` means: a name (any case), else an index; None for an image.

        The builder still refuses a stage that is not before the current one.
        """
        for stage in self.stages:
            if stage.name is not None and stage.name == ref.lower():
                return stage
        if ref.isdecimal() and int(ref) < len(self.stages):
            return self.stages[int(ref)]
        return None


def parse(text: str) -> Dockerfile:
    """Parse a Dockerfile; raises :class:`DockerfileSyntaxError` with Docker's message and the line."""
    source = read_lines(text)
    if not source.lines:
        raise DockerfileSyntaxError("file with no instructions", line=source.last_line, prefixed=False)
    global_args: list[Arg] = []
    stages: list[Stage] = []
    base: From | None = None
    body: list[Instruction] = []
    for logical in source.lines:
        instruction = build_instruction(logical.text, logical.start, source.escape)
        if isinstance(instruction, From):
            if base is not None:
                stages.append(Stage(len(stages), base, tuple(body)))
            base, body = instruction, []
        elif base is not None:
            body.append(instruction)
        elif isinstance(instruction, Arg):
            global_args.append(instruction)
        else:
            raise DockerfileSyntaxError(
                "no build stage in current context", line=logical.start, prefixed=False
            )
    if base is None:
        raise DockerfileSyntaxError(
            "no build stage in current context", line=source.lines[-1].start, prefixed=False
        )
    stages.append(Stage(len(stages), base, tuple(body)))
    return Dockerfile(tuple(stages), tuple(global_args), source.escape, source.warnings)


__all__ = ["Dockerfile", "Stage", "parse"]
