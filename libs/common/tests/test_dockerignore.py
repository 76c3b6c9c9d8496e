"""Tests for wharf_common.dockerignore: moby/patternmatcher semantics and the context walker."""

from __future__ import annotations

from pathlib import Path

import pytest
from wharf_common.dockerignore import (
    DockerIgnore,
    DockerIgnoreSyntaxError,
    clean_path,
    read_patterns,
    walk_context,
)
from wharf_common.errors import InvalidArgument


def ignore(*lines: str) -> DockerIgnore:
    return DockerIgnore.from_text("\n".join(lines))


DOCS_EXAMPLE = ignore("# comment", "*/temp*", "*/*/temp*", "temp?")


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("somedir/temporary.txt", True),
        ("somedir/temp", True),
        ("somedir/temp/inside.txt", True),
        ("temporary.txt", False),
        ("somedir/subdir/temporary.txt", True),
        ("a/b/c/temporary.txt", False),
        ("tempa", True),
        ("tempb/file", True),
        ("temp", False),
        ("tempab", False),
        ("# comment", False),
    ],
)
def test_docker_docs_example(path: str, excluded: bool) -> None:
    assert DOCS_EXAMPLE.matches(path) is excluded


def test_double_star_matches_any_number_of_directories() -> None:
    go = ignore("**/*.go")
    assert go.matches("main.go")
    assert go.matches("cmd/app/main.go")
    assert not go.matches("main.go.txt")
    assert not go.matches("README.md")


def test_exception_re_includes_readme() -> None:
    md = ignore("*.md", "!README.md")
    assert md.matches("CHANGELOG.md")
    assert not md.matches("README.md")
    assert not md.matches("docs/guide.md")  # "*" does not cross "/"


def test_last_matching_line_wins_with_exceptions() -> None:
    secret_last = ignore("*.md", "!README*.md", "README-secret.md")
    assert secret_last.matches("CHANGELOG.md")
    assert not secret_last.matches("README.md")
    assert not secret_last.matches("README-dev.md")
    assert secret_last.matches("README-secret.md")

    exception_last = ignore("*.md", "README-secret.md", "!README*.md")
    assert not exception_last.matches("README-secret.md")
    assert not exception_last.matches("README.md")
    assert exception_last.matches("CHANGELOG.md")


def test_exception_before_a_pattern_has_no_effect() -> None:
    assert ignore("!fileutils.go", "*.go").matches("fileutils.go")
    assert not ignore("*.go", "!fileutils.go").matches("fileutils.go")


@pytest.mark.parametrize("directory_pattern", ["docs", "docs/", "./docs", "/docs", "docs/*"])
def test_directory_exclusion_with_re_inclusion(directory_pattern: str) -> None:
    rules = ignore(directory_pattern, "!docs/README.md")
    assert rules.matches("docs/guide.md")
    assert rules.matches("docs/sub/deep.md")
    assert not rules.matches("docs/README.md")
    assert not rules.matches("docsify")


def test_re_included_directory_re_includes_its_content() -> None:
    rules = ignore("**", "!util/docker/web")
    assert rules.matches("util/other")
    assert not rules.matches("util/docker/web/foo")
    assert ignore("**", "!util/docker/web", "util/docker/web/foo").matches("util/docker/web/foo")


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("/node_modules", "node_modules/x/index.js"),
        ("./build/", "build/out.o"),
        ("a//b/../c", "a/c"),
        ("  spaced  ", "spaced"),
    ],
)
def test_patterns_are_cleaned(pattern: str, path: str) -> None:
    assert ignore(pattern).matches(path)


def test_paths_are_cleaned_and_the_root_is_never_excluded() -> None:
    rules = ignore("*", "build")
    assert rules.matches("./build/x")
    assert rules.matches("/build")
    assert not rules.matches(".")
    assert not rules.matches("")
    assert not rules.matches("./")


def test_comments_only_in_column_one_and_blank_lines_skipped() -> None:
    assert read_patterns("\ufeff# c\n\n  \n  # not a comment\n!  keep \n/abs/./x/\n") == [
        "# not a comment",
        "!keep",
        "abs/x",
    ]


@pytest.mark.parametrize(
    ("pattern", "path", "excluded"),
    [
        ("**", "file", True),
        ("**", "dir/file", True),
        ("**/", "file", True),
        ("**/**", "dir/file", True),
        ("dir/**", "dir/file", True),
        ("dir/**", "dir/dir2/file", True),
        ("dir/**", "dir", False),
        ("**/dir", "dir", True),
        ("**/dir", "dir/file", True),
        ("**/dir2/*", "dir/dir2/file", True),
        ("**/dir2/**", "dir/dir2/dir3/file", True),
        ("**file", "file", True),
        ("**file", "dir/dir/file", True),
        ("**/file*.txt", "dir/dir/file.txt", True),
        ("**/**/*.txt", "file.txt", True),
        ("**/**/*.txt2", "dir/dir/file.txt", False),
        ("a**/*.txt", "a/dir/dir/file.txt", True),
        ("a/*.txt", "a/dir/file.txt", False),
        ("a/*.txt", "a/file.txt", True),
        ("a[b-d]e", "ace", True),
        ("a[b-d]e", "aae", False),
        ("a[^b-d]e", "aze", True),
        (".*", ".foo", True),
        (".*", "foo", False),
        ("abc.def", "abcZdef", False),
        ("abc?def", "abcZdef", True),
        ("abc?def", "abc/def", False),
        ("a*b", "a/b", False),
        ("**/.foo", "bar.foo", False),
        ("a(b)c/def", "a(b)c/def", True),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
        ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),
        ("a\\\\", "a\\", True),
        ("[\\]a]", "]", True),
        ("[x\\-]", "-", True),
        ("[a-\u03b6]*", "\u03b1", True),
        ("a*", "ab/c", True),
        ("*", "x\n", True),
        ("x", "x\n", False),
        ("x?", "x\n", True),
    ],
)
def test_patternmatcher_cases(pattern: str, path: str, excluded: bool) -> None:
    assert ignore(pattern).matches(path) is excluded


@pytest.mark.parametrize("pattern", ["[", "a[", "[^bc", "[]a]", "[-]", "[x-]", "[a-b-c]", "\\", "!"])
def test_malformed_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(DockerIgnoreSyntaxError) as caught:
        DockerIgnore.from_patterns([pattern])
    assert isinstance(caught.value, InvalidArgument)


def test_single_exclamation_message() -> None:
    with pytest.raises(DockerIgnoreSyntaxError, match='illegal exclusion pattern: "!"'):
        ignore("!")


@pytest.mark.parametrize(
    ("path", "expected"),
    [("", "."), ("./a/", "a"), ("a//b/../c", "a/c"), ("/../a", "/a"), ("../../a", "../../a"), ("//a", "/a")],
)
def test_clean_path_is_go_filepath_clean(path: str, expected: str) -> None:
    assert clean_path(path) == expected


@pytest.mark.parametrize(
    ("lines", "directory", "skippable"),
    [
        (("build",), "build", True),
        (("build", "!build/keep.txt"), "build", False),
        (("build", "!other/keep.txt"), "build", True),
        (("build", "!**/keep.txt"), "build", False),
        (("build", "!*/keep.txt"), "build", False),
        (("build", "!*/keep.txt"), "build/sub", True),
        (("build", "!b*"), "build", False),
        (("build", "!c*"), "build", True),
        (("build", "!bu*/x"), "build", False),
        (("*", "!README*"), "docs", True),
        (("build", "!build"), "build", False),
        (("build", "!buil?/[ab]"), "build", False),
        (("build", "!build/**"), "build", False),
        (("build", "!bui**"), "build", False),
        (("build", "!other**"), "build", True),
        (("src",), "build", False),
    ],
)
def test_excludes_dir_entirely_only_when_nothing_can_be_re_included(
    lines: tuple[str, ...], directory: str, skippable: bool
) -> None:
    assert ignore(*lines).excludes_dir_entirely(directory) is skippable


def make_context(root: Path, files: list[str]) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)


def walked(root: Path, rules: DockerIgnore) -> list[str]:
    return [path.as_posix() for path in walk_context(root, rules)]


def test_walk_context_yields_included_paths_in_lexical_order(tmp_path: Path) -> None:
    make_context(
        tmp_path, ["b.txt", "a/x.go", "a/y.md", "node_modules/m/index.js", ".git/HEAD", "Dockerfile"]
    )
    rules = ignore(".git", "node_modules", "**/*.md")
    assert walked(tmp_path, rules) == ["Dockerfile", "a", "a/x.go", "b.txt"]


def test_walk_context_enters_excluded_directories_with_exceptions(tmp_path: Path) -> None:
    make_context(tmp_path, ["docs/README.md", "docs/guide.md", "docs/deep/README.md", "src/main.c"])
    rules = ignore("docs", "!**/README.md")
    assert walked(tmp_path, rules) == ["docs/README.md", "docs/deep/README.md", "src", "src/main.c"]


def test_walk_context_never_follows_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    make_context(outside, ["secret.txt"])
    context = tmp_path / "context"
    make_context(context, ["app.py"])
    (context / "link").symlink_to(outside)
    (context / "secret-link").symlink_to(outside / "secret.txt")
    assert walked(context, DockerIgnore()) == ["app.py", "link", "secret-link"]
    assert all(not path.startswith("link/") for path in walked(context, ignore("!link/secret.txt")))


def test_walk_context_can_exclude_dockerfile_and_dockerignore(tmp_path: Path) -> None:
    make_context(tmp_path, ["Dockerfile", ".dockerignore", "app.py"])
    assert walked(tmp_path, ignore("Dockerfile", ".dockerignore")) == ["app.py"]


def test_context_paths_keep_what_dockerignore_keeps_plus_the_files_always_sent(tmp_path: Path) -> None:
    from wharf_common.dockerignore import context_paths

    for name in ("Dockerfile", "app.py", "secret.key", ".dockerignore"):
        (tmp_path / name).write_text("x")
    (tmp_path / ".dockerignore").write_text("*.key\nDockerfile\n.dockerignore\n")
    sent = [str(p) for p in context_paths(tmp_path, {"Dockerfile", ".dockerignore", "missing"})]
    assert sent == ["app.py", ".dockerignore", "Dockerfile"]
