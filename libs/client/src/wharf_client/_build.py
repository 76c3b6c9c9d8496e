"""Image-making endpoints: build, commit, diff, history, export, pause, prune."""

from __future__ import annotations

from . import lean as json
from ._base import BaseClient, JSONObject, path_segment
from ._images import iter_messages, iter_source

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from typing import Any

    from ._images import Source


class BuildAPI(BaseClient):
    def image_build(
        self,
        context: Source | None,
        *,
        remote: str | None = None,
        tags: Sequence[str] = (),
        dockerfile: str | None = None,
        nocache: bool = False,
        quiet: bool = False,
        rm: bool = True,
        forcerm: bool = False,
        buildargs: Mapping[str, str | None] | None = None,
        labels: Mapping[str, str] | None = None,
        target: str | None = None,
    ) -> Iterator[JSONObject]:
        """``POST /build`` with the context tar streamed as the body; yields the JSON messages.

        A message carrying ``error`` raises :class:`EngineError` (the build failed).
        """
        query: dict[str, Any] = {
            "t": list(tags) or None,
            "dockerfile": dockerfile,
            "nocache": nocache or None,
            "q": quiet or None,
            "rm": "1" if rm else "0",
            "forcerm": forcerm or None,
            "buildargs": json.dumps(dict(buildargs)) if buildargs else None,
            "labels": json.dumps(dict(labels)) if labels else None,
            "target": target,
            "remote": remote,
        }
        body = iter_source(context) if context is not None else None
        response = self._open(
            "POST", "/build", query, body=body, headers={"Content-Type": "application/x-tar"}
        )
        return iter_messages(response)

    def container_commit(
        self,
        container: str,
        *,
        repo: str | None = None,
        tag: str | None = None,
        comment: str | None = None,
        author: str | None = None,
        pause: bool = True,
        changes: Sequence[str] = (),
    ) -> JSONObject:
        query: dict[str, Any] = {
            "container": container,
            "repo": repo,
            "tag": tag,
            "comment": comment,
            "author": author,
            "pause": "1" if pause else "0",
            "changes": list(changes) or None,
        }
        result: JSONObject = self._call("POST", "/commit", query)
        return result

    def container_changes(self, container: str) -> list[JSONObject]:
        result: list[JSONObject] | None = self._call("GET", f"/containers/{path_segment(container)}/changes")
        return result or []

    def container_export(self, container: str) -> Iterator[bytes]:
        response = self._open("GET", f"/containers/{path_segment(container)}/export")

        def chunks() -> Iterator[bytes]:
            with response:
                yield from response.iter_bytes()

        return chunks()

    def container_pause(self, container: str) -> None:
        self._call("POST", f"/containers/{path_segment(container)}/pause")

    def container_unpause(self, container: str) -> None:
        self._call("POST", f"/containers/{path_segment(container)}/unpause")

    def image_history(self, image: str) -> list[JSONObject]:
        result: list[JSONObject] | None = self._call("GET", f"/images/{path_segment(image)}/history")
        return result or []

    def image_prune(self, *, all: bool = False) -> JSONObject:
        filters = json.dumps({"dangling": ["false"]}) if all else None
        result: JSONObject = self._call("POST", "/images/prune", {"filters": filters})
        return result
