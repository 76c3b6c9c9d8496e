"""Registry commands: pull, push, login, logout, search.

Progress streams are drawn like docker's ``jsonmessage.DisplayJSONMessagesStream``: on a terminal
each layer keeps one line that is redrawn in place (ANSI cursor moves); otherwise plain lines are
printed and progress-bar updates are left out, as docker does when stdout is not a terminal.
"""

from __future__ import annotations

import getpass
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TextIO

import typer
from wharf_client import ClientError, EngineError, JSONObject
from wharf_common.humanize import human_size
from wharf_common.reference import InvalidReference, parse_reference

from ... import auth
from ...formatter import render
from ...humanize import ellipsis
from ...opts import split_reference
from ...output import err, fail, fail_client, out
from ...session import client
from ...terminal import is_terminal, stdin_fd

NON_TERMINAL_WIDTH = 200
SEARCH_TITLES = {
    "Name": "NAME",
    "Description": "DESCRIPTION",
    "StarCount": "STARS",
    "IsOfficial": "OFFICIAL",
    "IsAutomated": "AUTOMATED",
}
SEARCH_TABLE = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}\t{{.IsAutomated}}"


# ---- progress rendering (docker's pkg/jsonmessage) -------------------------------------------


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()`` after ``Round(time.Second)``: ``0s``, ``42s``, ``1m5s``, ``2h0m1s``."""
    total = int(max(seconds, 0) + 0.5)  # Go rounds halves away from zero
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def progress_text(detail: dict[str, Any], width: int, now: float | None = None) -> str:
    """``JSONProgress.String()``: ``[====>     ]  1.2MB/4MB 3s`` (the bar only when wider than 110)."""
    current = int(detail.get("current") or 0)
    total = int(detail.get("total") or 0)
    units = str(detail.get("units") or "")
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current, 4):>8}" if not units else f"{current} {units}"
    percentage = min(int(current / total * 100) // 2, 50)
    bar = f"[{'=' * percentage}>{' ' * max(50 - percentage, 0)}] " if width > 110 else ""
    numbers = ""
    if detail.get("hidecounts"):
        pass
    elif not units:
        numbers = f"{human_size(current, 4):>8}/{human_size(total, 4)}"
        if current > total:
            numbers = f"{human_size(current, 4):>8}"
    else:
        numbers = f"{current}/{total} {units}" if current <= total else f"{current} {units}"
    left = ""
    start = int(detail.get("start") or 0)
    if current > 0 and start > 0 and percentage < 50:
        elapsed = (time.time() if now is None else now) - start
        left = " " + go_duration(elapsed / current * (total - current))
    return bar + numbers + left


def display_message(message: JSONObject, terminal: bool, width: int) -> str | None:
    """``JSONMessage.Display``: the text for one message, ``None`` when it is not shown."""
    detail = message.get("progressDetail")
    has_progress = isinstance(detail, dict)
    stream = str(message.get("stream") or "")
    status = str(message.get("status") or "")
    text, endl = "", ""
    if terminal and not stream and has_progress:
        text, endl = "\x1b[2K\r", "\r"
    if message.get("id"):
        text += f"{message['id']}: "
    bar = progress_text(detail, width) if isinstance(detail, dict) else ""
    if terminal and not stream and has_progress:
        return text + f"{status} {bar}{endl}"
    if has_progress and bar:  # progress bars are left out when not on a terminal
        return None
    if message.get("progress"):
        return text + f"{status} {message['progress']}{endl}"
    if stream:
        return text + stream + endl
    return text + f"{status}{endl}\n"


class ProgressPrinter:
    """Draw a stream of messages, keeping one line per layer id on a terminal."""

    def __init__(self, target: TextIO, terminal: bool, width: int = NON_TERMINAL_WIDTH) -> None:
        self.target = target
        self.terminal = terminal
        self.width = width
        self.lines: dict[str, int] = {}

    def show(self, message: JSONObject) -> None:
        if message.get("aux") is not None:
            return
        identifier = str(message.get("id") or "")
        has_progress = isinstance(message.get("progressDetail"), dict) or bool(message.get("progress"))
        diff = 0
        write = self.target.write
        if identifier and has_progress:
            line = self.lines.get(identifier)
            if line is None:
                line = self.lines[identifier] = len(self.lines)
                if self.terminal:
                    write("\n")
            diff = len(self.lines) - line
            if self.terminal and diff:
                write(f"\x1b[{diff}A")
        else:
            self.lines = {}  # anything else ends the block of per-layer lines
        text = display_message(message, self.terminal, self.width)
        if text is not None:
            write(text)
        if identifier and self.terminal and diff:
            write(f"\x1b[{diff}B")
        self.target.flush()

    def show_all(self, messages: Iterable[JSONObject]) -> None:
        for message in messages:
            self.show(message)


def _printer(target: TextIO | None = None) -> ProgressPrinter:
    target = sys.stdout if target is None else target
    try:
        fd = target.fileno()
    except (OSError, ValueError):  # not a real file (captured output)
        fd = -1
    terminal = fd >= 0 and is_terminal(fd)
    width = NON_TERMINAL_WIDTH
    if terminal:
        try:
            width = os.get_terminal_size(fd).columns
        except OSError:
            pass
    return ProgressPrinter(target, terminal, width)


def pull_missing(image: str, *, quiet: bool = False) -> None:
    """``docker run``'s pull of a missing image: the progress on stderr, ``ClientError`` on failure."""
    repo, tag = split_reference(image.split("@", 1)[0])
    if "@" in image:
        tag = image.split("@", 1)[1]
    messages = client().image_pull(repo, tag or "latest", auth=auth.auth_config(auth.registry_of(repo)))
    printer = _printer(sys.stderr)
    for message in messages:
        if not quiet:
            printer.show(message)


def _stream(messages: Iterable[JSONObject], quiet: bool) -> None:
    """Show (or, quiet, drain) a progress stream; an ``error`` message ends the command with status 1."""
    printer = _printer()
    try:
        for message in messages:
            if not quiet:
                printer.show(message)
    except EngineError as error:
        sys.stdout.flush()
        fail(error.message)
    except ClientError as error:
        fail_client(error)


def _full_name(repo: str, tag: str) -> str:
    """Docker's last line after a pull: the normalized name (``docker.io/library/busybox:latest``)."""
    try:
        return f"{parse_reference(repo).full_name}:{tag}"
    except InvalidReference:
        return f"{repo}:{tag}"


def _with_default_tag(reference: str) -> tuple[str, str]:
    name, tag = split_reference(reference.split("@", 1)[0])
    if tag is None:
        out("Using default tag: latest")
        tag = "latest"
    return name, tag


# ---- commands -----------------------------------------------------------------------------------


def pull(
    name: Annotated[str, typer.Argument(metavar="NAME[:TAG]")],
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Suppress verbose output")] = False,
    platform: Annotated[str | None, typer.Option("--platform", help="Set platform")] = None,
) -> None:
    """Download an image from a registry."""
    repo, tag = _with_default_tag(name)
    credentials = auth.auth_config(auth.registry_of(repo))
    try:
        messages = client().image_pull(repo, tag, auth=credentials, platform=platform)
    except ClientError as error:
        fail_client(error)
    _stream(messages, quiet)
    out(_full_name(repo, tag))


def push(
    name: Annotated[str, typer.Argument(metavar="NAME[:TAG]")],
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Suppress verbose output")] = False,
) -> None:
    """Upload an image to a registry."""
    repo, tag = _with_default_tag(name)
    credentials = auth.auth_config(auth.registry_of(repo))
    try:
        messages = client().image_push(repo, tag, auth=credentials)
    except ClientError as error:
        fail_client(error)
    _stream(messages, quiet)
    if quiet:
        out(f"{repo}:{tag}")


def _prompt_credentials(server: str, username: str | None, password: str | None) -> tuple[str, str]:
    if not is_terminal(stdin_fd()):
        fail("Error: Cannot perform an interactive login from a non TTY device")
    if not username:
        stored = auth.credentials(server)
        default = stored[0] if stored else ""
        sys.stdout.write(f"Username ({default}): " if default else "Username: ")
        sys.stdout.flush()
        username = sys.stdin.readline().strip() or default
        if not username:
            fail("Error: Non-null Username Required")
    if not password:
        password = getpass.getpass("Password: ")
        if not password:
            fail("Error: Password Required")
    return username, password


def login(
    server: Annotated[str | None, typer.Argument(metavar="[SERVER]")] = None,
    username: Annotated[str | None, typer.Option("-u", "--username", help="Username")] = None,
    password: Annotated[str | None, typer.Option("-p", "--password", help="Password or PAT")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Take the Password or PAT from stdin")
    ] = False,
) -> None:
    """Authenticate to a registry (defaults to the engine's default hub).

    Credentials for the default hub are stored under docker's key for it
    (https://index.docker.io/v1/), so docker and wharf share one login.
    """
    if password:
        err("WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
        if password_stdin:
            fail("--password and --password-stdin are mutually exclusive")
    if password_stdin:
        if not username:
            fail("Must provide --username with --password-stdin")
        password = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    address = server or auth.DEFAULT_SERVER
    if not username or not password:
        username, password = _prompt_credentials(address, username, password)
    try:
        response = client().registry_login(username, password, address)
    except ClientError as error:
        fail_client(error)
    try:
        auth.store(address, username, password)
    except OSError as exc:
        fail(f"Error saving credentials: {exc}")
    err(f"WARNING! Your credentials are stored unencrypted in '{auth.config_dir() / auth.CONFIG_FILE}'.")
    out(str(response.get("Status") or "Login Succeeded"))


def logout(server: Annotated[str | None, typer.Argument(metavar="[SERVER]")] = None) -> None:
    """Log out from a registry (defaults to the engine's default hub)."""
    key = auth.server_key(server)
    if auth.credentials(key) is None:
        out(f"Not logged in to {key}")
        return
    out(f"Removing login credentials for {key}")
    try:
        if not auth.erase(key):
            err(f"WARNING: could not erase credentials: {key}: not stored by wharf")
    except OSError as exc:
        err(f"WARNING: could not erase credentials:\n{key}: {exc}")


@dataclass
class SearchRow:
    Name: str
    Description: str
    StarCount: str
    IsOfficial: str
    IsAutomated: str


def search_rows(results: Iterable[JSONObject], trunc: bool = True) -> list[SearchRow]:
    rows = []
    for item in results:
        description = str(item.get("description") or "").replace("\n", " ").replace("\r", " ")
        rows.append(
            SearchRow(
                Name=str(item.get("name") or ""),
                Description=ellipsis(description, 45) if trunc else description,
                StarCount=str(int(item.get("star_count") or 0)),
                IsOfficial="[OK]" if item.get("is_official") else "",
                IsAutomated="[OK]" if item.get("is_automated") or item.get("is_trusted") else "",
            )
        )
    return rows


def search(
    term: Annotated[str, typer.Argument(metavar="TERM")],
    limit: Annotated[int | None, typer.Option("--limit", help="Max number of search results")] = None,
    no_trunc: Annotated[bool, typer.Option("--no-trunc", help="Don't truncate output")] = False,
    format: Annotated[
        str | None, typer.Option("--format", help="Pretty-print search using a Go template")
    ] = None,
) -> None:
    """Search registries for images."""
    try:
        results = client().image_search(term, limit=limit, auth=auth.auth_config(auth.registry_of(term)))
    except ClientError as error:
        fail_client(error)
    out(
        render(format or SEARCH_TABLE, search_rows(results, not no_trunc), SEARCH_TITLES, SEARCH_TABLE),
        end="",
    )


def register(app: typer.Typer) -> None:
    app.command("pull")(pull)
    app.command("push")(push)
    app.command("login")(login)
    app.command("logout")(logout)
    app.command("search")(search)
