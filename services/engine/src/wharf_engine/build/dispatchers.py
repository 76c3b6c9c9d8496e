"""One function per Dockerfile instruction, as moby's builder/dockerfile/dispatchers.go."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

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
from wharf_engine.containers.users import resolve_user

from .copy import Ownership, checksum, copy_into, download, is_url, resolve_sources
from .executor import BuildFailed, short
from .paths import scoped
from .state import StageState

if TYPE_CHECKING:
    from .executor import BuildExecutor


async def from_(b: BuildExecutor, instruction: From, global_args: dict[str, str]) -> StageState:
    await b.announce(instruction.original)
    name, image_id = await b.base_image(instruction, global_args)
    if image_id is None:
        state = StageState()
        await b.out.stream(" ---> \n" if name == "scratch" else "")
        return state
    state = StageState.from_image(image_id, b.backend.image_config(image_id))
    await b.out.stream(f" ---> {short(image_id)}\n")
    triggers = list(state.config.get("OnBuild") or [])
    if triggers:
        await b.out.stream(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
        state.config["OnBuild"] = None  # a child does not inherit its parent's triggers
        for text in triggers:
            await dispatch(b, state, b.trigger(text))
    return state


async def dispatch(b: BuildExecutor, state: StageState, instruction: Instruction) -> None:
    if isinstance(instruction, Arg):
        await arg(b, state, instruction)
        return
    b.used_args.update(k for k in state.args if k in b.options.buildargs)
    expanded = expand_instruction(instruction, state.env, b.escape)
    handler = HANDLERS.get(type(expanded))
    if handler is None:  # FROM inside a stage cannot happen: the parser starts a stage there
        raise BuildFailed(f"{expanded.keyword} is not supported here")
    await handler(b, state, expanded)  # type: ignore[operator]


def _command(state: StageState, command: tuple[str, ...] | str) -> list[str]:
    return [*state.shell, command] if isinstance(command, str) else list(command)


async def run(b: BuildExecutor, state: StageState, ins: Run) -> None:
    argv = _command(state, ins.command)
    env_keys = {e.partition("=")[0] for e in state.config.get("Env") or []}
    # build args reach RUN as environment (ENV wins) and show in history as "|N k=v ..."
    args_used = [f"{k}={v}" for k, v in sorted(state.args.items()) if k not in env_keys]
    created_by = (f"|{len(args_used)} {' '.join(args_used)} " if args_used else "") + " ".join(argv)
    step_config = {**state.config, "Cmd": argv, "Env": [*(state.config.get("Env") or []), *args_used]}

    async def change(step: str) -> None:
        code = await b.backend.run_step(step, b.out.stream)
        if code != 0:
            shown = " ".join(argv) if isinstance(ins.command, str) else json.dumps(argv)
            raise BuildFailed(f"The command '{shown}' returned a non-zero code: {code}", code)

    await b.commit_changes(state, created_by, None, change, announce_container=True, step_config=step_config)


async def copy(b: BuildExecutor, state: StageState, ins: Copy | Add) -> None:
    add = isinstance(ins, Add)
    mode = int(ins.chmod, 8) if ins.chmod else None
    from_stage = ins.from_stage if isinstance(ins, Copy) else None
    with tempfile.TemporaryDirectory(prefix="add-", dir=b.context.parent) as downloads:
        if from_stage is not None:
            await _copy_from_stage(b, state, ins, from_stage, mode)
            return
        sources = []
        for source in ins.sources:
            if add and is_url(source):
                sources.append(download(source, Path(downloads)))
            else:
                sources.extend(resolve_sources(b.context, (source,)))
        digest = checksum(sources)
        kind = "dir" if len(sources) == 1 and sources[0].is_dir() else "file"
        created_by = f"/bin/sh -c #(nop) {ins.keyword} {kind}:{digest} in {ins.dest} "

        async def change(step: str) -> None:
            root = await b.backend.mount_step(step)
            extract = add and not any(is_url(s) for s in ins.sources)
            copy_into(
                root,
                sources,
                ins.dest,
                state.config.get("WorkingDir") or "/",
                _owner(root, ins.chown),
                mode,
                extract_archives=extract,
                limits=b.backend.extract_limits,
            )

        await b.commit_changes(
            state, created_by, [digest, ins.chown, ins.chmod], change, announce_container=False
        )


async def _copy_from_stage(
    b: BuildExecutor,
    state: StageState,
    ins: Copy | Add,
    stage: str,
    mode: int | None,
) -> None:
    image_id = b.from_source(stage)
    source_step = await b.backend.create_step(image_id, {})
    try:
        source_root = await b.backend.mount_step(source_step)
        sources = []
        for pattern in ins.sources:
            path = scoped(source_root, pattern)
            if not path.exists() and not path.is_symlink():
                raise BuildFailed(f"COPY failed: stat {pattern}: file does not exist")
            sources.append(path)
        digest = checksum(sources)
        created_by = f"/bin/sh -c #(nop) COPY --from={stage} {digest} in {ins.dest} "

        async def change(step: str) -> None:
            root = await b.backend.mount_step(step)
            copy_into(
                root,
                sources,
                ins.dest,
                state.config.get("WorkingDir") or "/",
                _owner(root, ins.chown),
                mode,
                extract_archives=False,
            )

        await b.commit_changes(
            state, created_by, [digest, ins.chown, ins.chmod], change, announce_container=False
        )
    finally:
        await b.backend.remove_step(source_step)


def _owner(root: Path, chown: str | None) -> Ownership | None:
    """``--chown=user[:group]``, names looked up in the image being built, as Docker."""
    if not chown:
        return None
    resolved = resolve_user(root, chown)
    # "a username without groupname or a UID without GID will use the same numeric UID as the GID"
    return Ownership(resolved.uid, resolved.gid if ":" in chown else resolved.uid)


async def workdir(b: BuildExecutor, state: StageState, ins: Workdir) -> None:
    current = state.config.get("WorkingDir") or "/"
    path = ins.path if ins.path.startswith("/") else f"{current.rstrip('/')}/{ins.path}"
    state.config["WorkingDir"] = path

    async def change(step: str) -> None:
        root = await b.backend.mount_step(step)
        target = scoped(root, path)
        target.mkdir(parents=True, exist_ok=True)

    await b.commit_changes(state, f"/bin/sh -c #(nop) WORKDIR {path}", None, change, announce_container=False)


async def arg(b: BuildExecutor, state: StageState, ins: Arg) -> None:
    expanded = ins.expand(state.env, b.escape)
    for name, default in expanded.pairs:
        value = b.options.buildargs.get(name, default)
        if name in b.options.buildargs:
            b.used_args.add(name)
        if value is not None:
            state.args[name] = value
        else:
            state.args.pop(name, None)
    await b.commit_metadata(state, ins.original)


async def metadata(b: BuildExecutor, state: StageState, ins: Instruction) -> None:
    config = state.config
    if isinstance(ins, Env):
        for key, value in ins.pairs:
            state.set_env(key, value)
    elif isinstance(ins, Label):
        config["Labels"] = {**(config.get("Labels") or {}), **dict(ins.pairs)}
    elif isinstance(ins, Cmd):
        config["Cmd"] = _command(state, ins.command)
        state.cmd_from_stage = True
    elif isinstance(ins, Entrypoint):
        config["Entrypoint"] = _command(state, ins.command)
        if not state.cmd_from_stage:  # an ENTRYPOINT drops a CMD inherited from the base image
            config["Cmd"] = None
    elif isinstance(ins, Expose):
        ports = dict(config.get("ExposedPorts") or {})
        ports.update({p if "/" in p else f"{p}/tcp": {} for p in ins.ports})
        config["ExposedPorts"] = ports
    elif isinstance(ins, Volume):
        volumes = dict(config.get("Volumes") or {})
        volumes.update({p: {} for p in ins.paths})
        config["Volumes"] = volumes
    elif isinstance(ins, User):
        config["User"] = ins.user
    elif isinstance(ins, StopSignal):
        config["StopSignal"] = ins.signal
    elif isinstance(ins, Shell):
        config["Shell"] = list(ins.shell)
    elif isinstance(ins, Healthcheck):
        config["Healthcheck"] = {
            "Test": list(ins.test),
            **({"Interval": ins.interval_ns} if ins.interval_ns else {}),
            **({"Timeout": ins.timeout_ns} if ins.timeout_ns else {}),
            **({"StartPeriod": ins.start_period_ns} if ins.start_period_ns else {}),
            **({"Retries": ins.retries} if ins.retries else {}),
        }
    elif isinstance(ins, Maintainer):
        state.author = ins.name
    elif isinstance(ins, Onbuild):
        config["OnBuild"] = [*(config.get("OnBuild") or []), ins.instruction]
    await b.commit_metadata(state, ins.original)


HANDLERS = {
    Run: run,
    Copy: copy,
    Add: copy,
    Workdir: workdir,
    Env: metadata,
    Label: metadata,
    Cmd: metadata,
    Entrypoint: metadata,
    Expose: metadata,
    Volume: metadata,
    User: metadata,
    StopSignal: metadata,
    Shell: metadata,
    Healthcheck: metadata,
    Maintainer: metadata,
    Onbuild: metadata,
}
