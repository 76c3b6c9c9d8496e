"""The classic builder's Dockerfile: parsing, typed instructions, word expansion.

    >>> from wharf_common.dockerfile import parse
    >>> dockerfile = parse("FROM ubuntu\\nRUN apt-get update\\n")
    >>> dockerfile.stages[0].instructions[0].original
    'RUN apt-get update'

Parsed instructions keep their words as written; the builder expands them
step by step with :func:`expand_instruction` (see :mod:`.substitution` for which
instructions Docker expands, and how).
"""

from __future__ import annotations

from wharf_common.dockerfile.errors import DockerfileSyntaxError, SubstitutionError
from wharf_common.dockerfile.instructions import (
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Instruction,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    StopSignal,
    User,
    Volume,
    Workdir,
    expand_instruction,
)
from wharf_common.dockerfile.parser import Dockerfile, Stage, parse
from wharf_common.dockerfile.substitution import expand, expand_words

__all__ = [
    "Add",
    "Arg",
    "Cmd",
    "Copy",
    "Dockerfile",
    "DockerfileSyntaxError",
    "Entrypoint",
    "Env",
    "Expose",
    "From",
    "Healthcheck",
    "Instruction",
    "Label",
    "Maintainer",
    "Onbuild",
    "Run",
    "Shell",
    "Stage",
    "StopSignal",
    "SubstitutionError",
    "User",
    "Volume",
    "Workdir",
    "expand",
    "expand_instruction",
    "expand_words",
    "parse",
]
