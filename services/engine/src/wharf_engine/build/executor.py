"""BuildExecutor: runs a parsed Dockerfile step by step, with the cache, like the classic builder."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from wharf_common.dockerfile import Dockerfile, Instruction, parse
from wharf_common.dockerfile.instructions import Arg, From
from wharf_common.errors import InvalidArgument, NotFound, WharfError
from wharf_engine.shapes import BuildOptions

from . import cache_from
from .backend import BuildBackend
from .cache import BuildCache, cache_key
from .output import BuildOutput
from .state import StageState


class BuildFailed(InvalidArgument):
    """A step failed; ``code`` is the failing command's exit code, if any."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


def short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


class BuildExecutor:
    def __init__(
        self,
        backend: BuildBackend,
        cache: BuildCache,
        output: BuildOutput,
        context: Path,
        options: BuildOptions,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.out = output
        self.context = context
        self.options = options
        self.stages: dict[str, str | None] = {}  # stage name or index → its final image id
        self.step = 0
        self.total = 0
        self.used_args: set[str] = set()
        self.escape = "\\"
        self.cache_sources: list[tuple[str, Mapping[str, Any]]] = []
        for name in options.cachefrom:  # a name that is not here gives no hits, as Docker
            try:
                image_id = backend.resolve_image(name)
            except NotFound:
                continue
            self.cache_sources.append((image_id, backend.image_config(image_id)))

    # -- the whole file -----------------------------------------------------
    async def build(self, dockerfile: Dockerfile) -> str:
        from . import dispatchers

        self.escape = dockerfile.escape
        stages = list(dockerfile.stages)
        if self.options.target:
            names = [s.base.name for s in stages]
            if self.options.target.lower() not in names:
                raise BuildFailed(f"failed to reach build target {self.options.target} in Dockerfile")
            stages = stages[: names.index(self.options.target.lower()) + 1]
        self.total = len(dockerfile.args_before_from) + sum(1 + len(s.instructions) for s in stages)
        for warning in dockerfile.warnings:
            await self.out.stream(f"[WARNING]: {warning}\n")
        for global_arg in dockerfile.args_before_from:
            await self.announce(global_arg.original)
        global_args = self._global_args(dockerfile.args_before_from)
        final: str | None = None
        for index, stage in enumerate(stages):
            state = await dispatchers.from_(self, stage.base, global_args)
            for instruction in stage.instructions:
                await self.announce(instruction.original)
                await dispatchers.dispatch(self, state, instruction)
            final = state.image_id
            self.stages[str(index)] = final
            if stage.base.name:
                self.stages[stage.base.name] = final
        if final is None:
            raise BuildFailed("No image was generated. Is your Dockerfile empty?")
        if self.options.labels:
            final = await self.relabel(final)
        unused = sorted(set(self.options.buildargs) - self.used_args - set(global_args))
        if unused:
            listed = " ".join(unused)
            await self.out.stream(f"[Warning] One or more build-args [{listed}] were not consumed\n")
        return final

    def _global_args(self, args: tuple[Arg, ...]) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in args:
            if isinstance(instruction, Arg):
                for name, default in instruction.expand(values, self.escape).pairs:
                    value = self.options.buildargs.get(name, default)
                    if value is not None:
                        values[name] = value
        return values

    async def announce(self, original: str) -> None:
        self.step += 1
        await self.out.stream(f"Step {self.step}/{self.total} : {original}\n")

    # -- committing steps ---------------------------------------------------
    async def cached(self, key: str) -> str | None:
        if self.options.nocache:
            return None
        image_id = self.cache.get(key)
        if image_id is None:
            return None
        try:
            image = self.backend.image_config(image_id)
        except NotFound:
            self.cache.forget(key)
            return None
        if self.cache_sources and not cache_from.is_ancestor(self.cache_sources, image):
            return None  # with cachefrom, only hits on the way to one of those images count
        await self.out.stream(" ---> Using cache\n")
        return image_id

    async def cached_from(self, state: StageState, created_by: str, *, empty_layer: bool) -> str | None:
        """A hit from the ``cachefrom`` images: the source itself at its last step, else this
        step's image made from the source's layer."""
        if self.options.nocache or not self.cache_sources:
            return None
        hit = cache_from.find(self.cache_sources, state, created_by, empty_layer=empty_layer)
        if hit is None:
            return None
        image_id = hit.image_id or await self.backend.create_image(
            state.image(created_by, empty_layer=empty_layer, diff_id=hit.diff_id)
        )
        await self.out.stream(" ---> Using cache\n")
        return image_id

    async def use(self, state: StageState, image_id: str) -> None:
        state.advance(image_id, self.backend.image_config(image_id))
        await self.out.stream(f" ---> {short(image_id)}\n")

    async def commit_metadata(self, state: StageState, text: str) -> None:
        """A step that changes only the config: a new image with an empty layer entry."""
        key = cache_key(state.image_id, "#(nop) " + text, state.config)
        image_id = await self.cached(key)
        if image_id is None:
            created_by = f"/bin/sh -c #(nop)  {text}"
            image_id = await self.cached_from(state, created_by, empty_layer=True)
            if image_id is None:
                image_id = await self.backend.create_image(state.image(created_by, empty_layer=True))
            self.cache.put(key, image_id)
        await self.use(state, image_id)

    async def commit_changes(
        self,
        state: StageState,
        created_by: str,
        key_extra: Any,
        change: Callable[[str], Awaitable[None]],
        *,
        announce_container: bool,
        step_config: dict[str, Any] | None = None,
    ) -> None:
        """A step that changes the filesystem in a step container; cached by ``key_extra``."""
        key = cache_key(state.image_id, created_by, [key_extra, state.config, step_config])
        image_id = await self.cached(key) or await self.cached_from(state, created_by, empty_layer=False)
        if image_id is None:
            step = await self.backend.create_step(state.image_id, step_config or state.config)
            if announce_container:
                await self.out.stream(f" ---> Running in {step[:12]}\n")
            try:
                await change(step)
            except BaseException as exc:
                if self.options.forcerm or isinstance(exc, asyncio.CancelledError):
                    await asyncio.shield(self.backend.remove_step(step))
                raise
            diff_id = await self.backend.commit_step(step)
            if announce_container and (self.options.rm or self.options.forcerm):
                await self.out.stream(f"Removing intermediate container {step[:12]}\n")
            image_id = await self.backend.create_image(
                state.image(created_by, empty_layer=False, diff_id=diff_id)
            )
            self.cache.put(key, image_id)
        await self.use(state, image_id)

    async def relabel(self, image_id: str) -> str:
        state = StageState.from_image(image_id, self.backend.image_config(image_id))
        state.config["Labels"] = {**(state.config.get("Labels") or {}), **self.options.labels}
        text = "LABEL " + " ".join(f'"{k}"="{v}"' for k, v in sorted(self.options.labels.items()))
        return await self.backend.create_image(state.image(f"/bin/sh -c #(nop)  {text}", empty_layer=True))

    def trigger(self, text: str) -> Instruction:
        """An ONBUILD trigger stored in the parent's config, parsed as one instruction."""
        source = f"# escape={self.escape}\nFROM scratch\n{text}\n"
        return parse(source).stages[0].instructions[0]

    def from_source(self, name: str) -> str | None:
        """``COPY --from=``: an earlier stage by name or index, else an image."""
        if name.lower() in self.stages:
            return self.stages[name.lower()]
        if name.isdigit():
            raise BuildFailed(f"invalid from flag value {name}: index out of bounds")
        try:
            return self.backend.resolve_image(name)
        except NotFound:
            raise BuildFailed(f"invalid from flag value {name}: no stage or image of that name") from None

    async def base_image(self, instruction: From, global_args: dict[str, str]) -> tuple[str, str | None]:
        """(name as expanded, image id or None for scratch); earlier stages by name first, then
        local images, then a pull from the registry the name says (the default index for a bare
        name), as ``docker build`` does."""
        expanded = instruction.expand(global_args, self.escape)
        name = expanded.image
        if not name:
            raise BuildFailed(f"base name ({instruction.image}) should not be blank")
        if name.lower() in self.stages:
            return name, self.stages[name.lower()]
        if name == "scratch":
            return name, None
        try:
            return name, self.backend.resolve_image(name)
        except NotFound:
            pass
        try:
            return name, await self.backend.pull_image(name, self.out.progress)
        except WharfError as exc:
            raise BuildFailed(exc.message) from None
