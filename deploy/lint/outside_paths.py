#!/usr/bin/env python3
"""Fail when a file in the repository refers to something outside it.

A clone must be readable on its own: a reference a newcomer cannot follow is a defect. Three
kinds of reference are checked in every tracked text file:

* a relative path that climbs out of the checkout (``../notes/PLAN.md`` in the README);
* an absolute path into the checkout's surroundings: the checkout itself (a file should name
  its neighbours relatively) or a sibling of it (a notes directory or another worktree next to it);
* a Markdown document named in prose that the repository does not hold (``see STYLE.md``), or
  a Markdown link to a file it does not hold. Names in code spans and URLs are citations of
  other projects' files (``docs/sources/...`` in moby), not references into this checkout.

Python string literals that are not docstrings are data, not references (tests feed
``../../etc/passwd`` to the tar extractor on purpose), so in ``.py`` files only comments and
docstrings are read. Everything else (Markdown, Makefile, YAML, TOML, shell) is read whole.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_RELATIVE = re.compile(r"(?<![\w./-])((?:\.\./)+[\w.-]+(?:/[\w.-]+)*)")
_DOCUMENT = re.compile(r"(?<![\w./:-])([\w./-]*[\w-]\.md)\b")
_LINK = re.compile(r"\]\(([^)\s#]+)")
_CODE_SPAN = re.compile(r"``?[^`]*``?")
_URL = re.compile(r"\w+://\S+")
_BINARY_SUFFIXES = {".tar", ".gz", ".png", ".jpg", ".ico", ".pem", ".lock"}


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int
    text: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r} {self.why}"


def readable_text(path: Path, source: str) -> Iterator[tuple[int, str]]:
    """(line number, text) pairs of what counts as prose in ``path``."""
    if path.suffix != ".py":
        yield from enumerate(source.splitlines(), start=1)
        return
    previous = tokenize.INDENT
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        yield from enumerate(source.splitlines(), start=1)
        return
    for token in tokens:
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
        elif token.type == tokenize.STRING and previous in (
            tokenize.INDENT,
            tokenize.NEWLINE,
            tokenize.NL,
            tokenize.DEDENT,
        ):
            for offset, text in enumerate(token.string.splitlines()):
                yield token.start[0] + offset, text
        if token.type not in (tokenize.COMMENT, tokenize.NL):
            previous = token.type


def check_file(root: Path, relative: str, source: str, documents: set[str]) -> list[Finding]:
    """Every outside reference in one file; ``documents`` holds the repository's ``*.md`` paths."""
    path = root / relative
    outside = (
        sorted(
            (str(sibling) for sibling in root.parent.iterdir() if sibling != root),
            key=len,
            reverse=True,
        )
        if root.parent != root
        else []
    )
    found: list[Finding] = []
    for number, text in readable_text(path, source):
        for match in _RELATIVE.finditer(text):
            target = (path.parent / match.group(1)).resolve()
            if not target.is_relative_to(root):
                found.append(Finding(relative, number, match.group(1), "climbs out of the repository"))
        for prefix in [str(root), *outside]:
            if re.search(re.escape(prefix) + r"(?![\w.-])", text):
                why = (
                    "is an absolute path into the checkout"
                    if prefix == str(root)
                    else ("names a path beside the repository")
                )
                found.append(Finding(relative, number, prefix, why))
                break
        prose = _URL.sub(" ", _CODE_SPAN.sub(" ", text))
        for match in _DOCUMENT.finditer(prose):
            name = match.group(1)
            if not _names_a_document(root, path, name, documents):
                found.append(Finding(relative, number, name, "names a document the repository lacks"))
        if path.suffix == ".md":
            for match in _LINK.finditer(text):
                link = match.group(1)
                if "://" in link or link.startswith("mailto:"):
                    continue
                resolved = (path.parent / link).resolve()
                if not resolved.is_relative_to(root) or not resolved.exists():
                    found.append(Finding(relative, number, link, "links to a file the repository lacks"))
    return found


def _names_a_document(root: Path, path: Path, name: str, documents: set[str]) -> bool:
    if "/" not in name:
        return any(document.rsplit("/", 1)[-1] == name for document in documents)
    for base in (path.parent, root):
        target = (base / name).resolve()
        if target.is_relative_to(root) and str(target.relative_to(root)) in documents:
            return True
    return False


def main() -> int:
    root = Path(
        subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
        ).stdout.strip()
    ).resolve()
    files = subprocess.run(
        ["git", "ls-files"], capture_output=True, text=True, check=True, cwd=root
    ).stdout.split()
    documents = {name for name in files if name.endswith(".md")}
    findings: list[Finding] = []
    for name in files:
        path = root / name
        if path.suffix in _BINARY_SUFFIXES or not path.is_file():
            continue
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        findings.extend(check_file(root, name, source, documents))
    for finding in findings:
        sys.stderr.write(f"{finding}\n")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
