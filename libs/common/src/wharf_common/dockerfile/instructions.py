"""The typed Dockerfile instructions :func:`~wharf_common.dockerfile.parse` produces.

Every instruction carries ``line`` (the 1-based first line of its logical
line) and ``original``: the logical line as Docker prints it in
``Step N/M : ...``, continuation characters and comment lines removed, the
keyword as written.

Words that the builder expands (see :mod:`.substitution`) are stored *as
written*, quotes and escapes included, because expansion depends on the
environment at that step: ``ENV A='$B'`` keeps ``'$B'`` and ``expand`` makes
it ``$B``. Call :func:`expand_instruction` (or the instruction's ``expand``)
exactly once, with the step's environment, to get the values Docker uses;
expanding twice would expand the result again. RUN, CMD, ENTRYPOINT, SHELL,
HEALTHCHECK, MAINTAINER and ONBUILD have nothing to expand.

Exec forms (``["a", "b"]``) are tuples and shell forms strings, so
``shell_form`` is ``isinstance(command, str)``; Docker prepends the SHELL
(default ``/bin/sh -c``) to shell forms only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, TypeAlias

from wharf_common.dockerfile.errors import SubstitutionError
from wharf_common.dockerfile.substitution import expand, expand_words

Pairs: TypeAlias = tuple[tuple[str, str], ...]


def _expander(env: Mapping[str, str], escape: str, line: int) -> Callable[[str], str]:
    def expand_word(word: str) -> str:
        try:
            return expand(word, env, escape)
        except SubstitutionError as exc:
            raise SubstitutionError(exc.reason, line=line) from None

    return expand_word


def _expand_pairs(pairs: Pairs, word: Callable[[str], str]) -> Pairs:
    return tuple((word(key), word(value)) for key, value in pairs)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Located:
    keyword: ClassVar[str]
    line: int
    original: str


@dataclass(frozen=True, slots=True, kw_only=True)
class From(_Located):
    """``FROM [--platform=p] image [AS name]``; ``name`` is lowercased, None without AS."""

    keyword: ClassVar[str] = "FROM"
    image: str
    name: str | None = None
    platform: str | None = None

    def expand(self, args: Mapping[str, str], escape: str = "\\") -> From:
        """Expand the image and platform with the ARGs declared before the first FROM."""
        word = _expander(args, escape, self.line)
        platform = None if self.platform is None else word(self.platform)
        return replace(self, image=word(self.image), platform=platform)


@dataclass(frozen=True, slots=True, kw_only=True)
class Run(_Located):
    """``RUN cmd`` (shell form, a string) or ``RUN ["exe", "arg"]`` (exec form, a tuple)."""

    keyword: ClassVar[str] = "RUN"
    command: tuple[str, ...] | str
    shell_form: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Cmd(_Located):
    keyword: ClassVar[str] = "CMD"
    command: tuple[str, ...] | str
    shell_form: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Entrypoint(_Located):
    """``ENTRYPOINT``; ``ENTRYPOINT []`` is the empty exec form (it clears the entrypoint)."""

    keyword: ClassVar[str] = "ENTRYPOINT"
    command: tuple[str, ...] | str
    shell_form: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Shell(_Located):
    """``SHELL ["exe", "arg"]``: JSON only, never empty."""

    keyword: ClassVar[str] = "SHELL"
    shell: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Env(_Located):
    """``ENV K V`` or ``ENV K=V K2="v 2"``: ``(name, value)`` pairs, as written."""

    keyword: ClassVar[str] = "ENV"
    pairs: Pairs

    def expand(self, env: Mapping[str, str], escape: str = "\\") -> Env:
        """Every pair sees ``env`` as it was before this instruction, as in Docker."""
        return replace(self, pairs=_expand_pairs(self.pairs, _expander(env, escape, self.line)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Label(_Located):
    keyword: ClassVar[str] = "LABEL"
    pairs: Pairs

    def expand(self, env: Mapping[str, str], escape: str = "\\") -> Label:
        return replace(self, pairs=_expand_pairs(self.pairs, _expander(env, escape, self.line)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Expose(_Located):
    keyword: ClassVar[str] = "EXPOSE"
    ports: tuple[str, ...]

    def expand(self, env: Mapping[str, str], escape: str = "\\") -> Expose:
        """Word-split after expansion: ``EXPOSE $PORTS`` with ``PORTS="80 443"`` gives two ports."""
        ports: list[str] = []
        for port in self.ports:
            try:
                ports.extend(expand_words(port, env, escape))
            except SubstitutionError as exc:
                raise SubstitutionError(exc.reason, line=self.line) from None
        return replace(self, ports=tuple(ports))


@dataclass(frozen=True, slots=True, kw_only=True)
class Arg(_Located):
    """``ARG name[=default] ...``: ``(name, default or None)`` pairs, usually one."""

    keyword: ClassVar[str] = "ARG"
    pairs: tuple[tuple[str, str | None], ...]

    def expand(self, env: Mapping[str, str], escape: str = "\\") -> Arg:
        word = _expander(env, escape, self.line)
        return replace(
            self, pairs=tuple((word(name), None if v is None else word(v)) for name, v in self.pairs)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Workdir(_Located):
    keyword: ClassVar[str] = "WORKDIR"
    path: str

    def expand(self, env: Mapping[str, str], escape: str = "\\") -> Workdir:
        return replace(self, path=_expander(env, escape, self.line)(self.path))


@dataclass(frozen=True, slots=True, kw_only=True)
class User(_Located):
    keyword: ClassVar[str] = "USER"
    user: str

    def expand(self, env: Mapping[str, str], escape: str = "\\") -> User:
        return replace(self, user=_expander(env, escape, self.line)(self.user))


@dataclass(frozen=True, slots=True, kw_only=True)
class Volume(_Located):
    """``VOLUME ["/a", "/b"]`` or ``VOLUME /a /b``."""

    keyword: ClassVar[str] = "VOLUME"
    paths: tuple[str, ...]

    def expand(self, env: Mapping[str, str], escape: str = "\\") -> Volume:
        word = _expander(env, escape, self.line)
        return replace(self, paths=tuple(word(path) for path in self.paths))


@dataclass(frozen=True, slots=True, kw_only=True)
class StopSignal(_Located):
    keyword: ClassVar[str] = "STOPSIGNAL"
    signal: str

    def expand(self, env: Mapping[str, str], escape: str = "\\") -> StopSignal:
        return replace(self, signal=_expander(env, escape, self.line)(self.signal))


@dataclass(frozen=True, slots=True, kw_only=True)
class Healthcheck(_Located):
    """``HEALTHCHECK NONE`` or ``HEALTHCHECK [flags] CMD ...``, as the image config stores it.

    ``test`` is ``("NONE",)``, ``("CMD", exe, args...)`` for the exec form or
    ``("CMD-SHELL", command)`` for the shell form. Durations are nanoseconds and
    ``0`` (like ``retries=0``) means "not set, inherit".
    """

    keyword: ClassVar[str] = "HEALTHCHECK"
    test: tuple[str, ...]
    interval_ns: int = 0
    timeout_ns: int = 0
    start_period_ns: int = 0
    retries: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Maintainer(_Located):
    keyword: ClassVar[str] = "MAINTAINER"
    name: str


def _file_words(ins: Copy | Add, word: Callable[[str], str]) -> dict[str, Any]:
    """COPY and ADD expand the same words: sources, dest, --chown, --chmod."""
    return {
        "sources": tuple(word(source) for source in ins.sources),
        "dest": word(ins.dest),
        "chown": None if ins.chown is None else word(ins.chown),
        "chmod": None if ins.chmod is None else word(ins.chmod),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Copy(_Located):
    """``COPY [--from=stage] [--chown=u:g] [--chmod=mode] src... dest``.

    ``from_stage`` is a stage name, a stage index or an image, as written; the
    builder resolves it.
    """

    keyword: ClassVar[str] = "COPY"
    sources: tuple[str, ...]
    dest: str
    from_stage: str | None = None
    chown: str | None = None
    chmod: str | None = None

    def expand(self, env: Mapping[str, str], escape: str = "\\") -> Copy:
        return replace(self, **_file_words(self, _expander(env, escape, self.line)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Add(_Located):
    """``ADD [--chown=u:g] [--chmod=mode] src... dest``; sources may be URLs or tar archives."""

    keyword: ClassVar[str] = "ADD"
    sources: tuple[str, ...]
    dest: str
    chown: str | None = None
    chmod: str | None = None

    def expand(self, env: Mapping[str, str], escape: str = "\\") -> Add:
        return replace(self, **_file_words(self, _expander(env, escape, self.line)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Onbuild(_Located):
    """``ONBUILD <trigger>``: ``instruction`` is the trigger's text as stored in the
    image config (``COPY . /src``), ``trigger`` the same text parsed."""

    keyword: ClassVar[str] = "ONBUILD"
    instruction: str
    trigger: Instruction


Instruction: TypeAlias = (
    From
    | Run
    | Cmd
    | Entrypoint
    | Shell
    | Env
    | Label
    | Expose
    | Arg
    | Workdir
    | User
    | Volume
    | StopSignal
    | Healthcheck
    | Maintainer
    | Copy
    | Add
    | Onbuild
)
"""Any instruction; FROM starts a stage and is the ``base`` of a ``Stage``."""

_EXPANDABLE = (Env, Label, Expose, Arg, Workdir, User, Volume, StopSignal, Copy, Add)


def expand_instruction(instruction: Instruction, env: Mapping[str, str], escape: str = "\\") -> Instruction:
    """The instruction with its words expanded in ``env``; unchanged if it expands nothing.

    FROM is not expanded here (it sees only the global ARGs): use
    :meth:`From.expand`. Raises :class:`SubstitutionError` with the line.
    """
    if isinstance(instruction, _EXPANDABLE):
        return instruction.expand(env, escape)
    return instruction


__all__ = [
    "Add",
    "Arg",
    "Cmd",
    "Copy",
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
    "StopSignal",
    "User",
    "Volume",
    "Workdir",
    "expand_instruction",
]
