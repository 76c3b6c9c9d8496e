"""Errors of the Dockerfile parser and of word expansion.

Both are :class:`~wharf_common.errors.InvalidArgument`: a bad Dockerfile is the
user's input, never a fault of the builder.
"""

from __future__ import annotations

from wharf_common.errors import InvalidArgument


class DockerfileSyntaxError(InvalidArgument):
    """A Dockerfile Docker would refuse, with the 1-based ``line`` of the instruction.

    The message keeps Docker's wording. Errors of one instruction carry the
    classic builder's prefix (``Dockerfile parse error line 3: unknown
    instruction: FOO``); file-level errors (``file with no instructions``, ``no
    build stage in current context``) are bare, as Docker prints them, yet still
    carry ``line``. ``reason`` is the message without the prefix.
    """

    def __init__(self, reason: str, *, line: int | None = None, prefixed: bool = True) -> None:
        message = f"Dockerfile parse error line {line}: {reason}" if prefixed and line is not None else reason
        super().__init__(message)
        self.reason = reason
        self.line = line


class SubstitutionError(DockerfileSyntaxError):
    """A word whose ``$`` expansion or quoting is malformed (``${A``, an unclosed quote).

    :func:`~wharf_common.dockerfile.substitution.expand` raises it without a
    line; an instruction's ``expand`` raises it again with the instruction's line.
    """


__all__ = ["DockerfileSyntaxError", "SubstitutionError"]
