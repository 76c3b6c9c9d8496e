"""Image endpoints of the Engine API."""

from __future__ import annotations

from ._base import BaseClient, JSONObject, filters_param, path_segment
from ._errors import error_for_status
from ._http import READ_SIZE, Response, iter_json_values

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from typing import IO, Any

if TYPE_CHECKING:
    Source = IO[bytes] | Iterable[bytes]


def iter_source(source: Source, chunk_size: int = READ_SIZE) -> Iterator[bytes]:
    """Read a file object (or pass an iterable through) in chunks, never all at once."""
    read = getattr(source, "read", None)
    if read is None:
        yield from source
        return
    while chunk := read(chunk_size):
        yield chunk


def iter_messages(response: Response) -> Iterator[JSONObject]:
    """Yield JSON progress messages; an ``errorDetail``/``error`` message raises :class:`EngineError`."""
    with response:
        for message in iter_json_values(response.iter_bytes()):
            if not isinstance(message, dict):
                continue
            detail = message.get("errorDetail")
            if detail or message.get("error"):
                text = (detail or {}).get("message") or message.get("error") or "unknown error"
                code = (detail or {}).get("code") or 500
                raise error_for_status(int(code) if isinstance(code, int) else 500, str(text))
            yield message


class ImagesAPI(BaseClient):
    def image_list(
        self,
        *,
        all: bool = False,
        filters: Mapping[str, Sequence[str]] | None = None,
        digests: bool = False,
    ) -> list[JSONObject]:
        query = {"all": all or None, "filters": filters_param(filters), "digests": digests or None}
        result: list[JSONObject] = self._call("GET", "/images/json", query)
        return result

    def image_inspect(self, image: str) -> JSONObject:
        result: JSONObject = self._call("GET", f"/images/{path_segment(image)}/json")
        return result

    def image_tag(self, image: str, repo: str, tag: str | None = None) -> None:
        self._call("POST", f"/images/{path_segment(image)}/tag", {"repo": repo, "tag": tag})

    def image_remove(self, image: str, *, force: bool = False, noprune: bool = False) -> list[JSONObject]:
        """Returns ``[{"Untagged": ref} | {"Deleted": id}, ...]``."""
        query = {"force": force or None, "noprune": noprune or None}
        result: list[JSONObject] | None = self._call("DELETE", f"/images/{path_segment(image)}", query)
        return result or []

    def image_import(
        self,
        source: Source | None,
        *,
        url: str | None = None,
        repo: str | None = None,
        tag: str | None = None,
        changes: Sequence[str] = (),
        message: str | None = None,
        platform: str | None = None,
    ) -> Iterator[JSONObject]:
        """``POST /images/create?fromSrc=-`` streaming the tarball as a chunked body.

        Returns the progress messages; the last ``status`` is the new image id.
        """
        query: dict[str, Any] = {
            "fromSrc": url or "-",
            "repo": repo,
            "tag": tag,
            "message": message,
            "changes": list(changes) or None,
            "platform": platform,
        }
        response = self._open(
            "POST",
            "/images/create",
            query,
            body=iter_source(source) if source is not None else None,
            headers={"Content-Type": "application/x-tar"},
        )
        return iter_messages(response)

    def image_save(self, names: Sequence[str]) -> Iterator[bytes]:
        """``GET /images/get?names=...``: the tarball, yielded piece by piece."""
        response = self._open("GET", "/images/get", {"names": list(names)})
        return _iter_body(response)

    def image_load(self, source: Source, *, quiet: bool = False) -> Iterator[JSONObject]:
        """``POST /images/load`` with the tarball body; yields the JSON messages (``{"stream": ...}``)."""
        response = self._open(
            "POST",
            "/images/load",
            {"quiet": quiet or None},
            body=iter_source(source),
            headers={"Content-Type": "application/x-tar"},
        )
        return iter_messages(response)


def _iter_body(response: Response) -> Iterator[bytes]:
    with response:
        yield from response.iter_bytes()
