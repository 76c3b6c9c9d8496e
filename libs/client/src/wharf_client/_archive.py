"""Copying files in and out of containers (``docker cp``): path stat, tar download and upload."""

from __future__ import annotations

from . import lean as json
from ._base import BaseClient, JSONObject, path_segment
from ._errors import NotFoundError, ProtocolError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._http import Body, Response

PATH_STAT_HEADER = "x-docker-container-path-stat"
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27


def decode_path_stat(response: Response) -> JSONObject:
    """The ``X-Docker-Container-Path-Stat`` header: ``{name, size, mode, mtime, linkTarget}``.

    ``mode`` carries Go's ``os.FileMode`` bits: :data:`MODE_DIR` for a directory, :data:`MODE_SYMLINK`.
    """
    import base64  # only cp needs it

    raw = response.headers.get(PATH_STAT_HEADER)
    if raw is None:
        raise ProtocolError("the engine sent no X-Docker-Container-Path-Stat header")
    try:
        stat = json.loads(base64.b64decode(raw))
    except ValueError:
        raise ProtocolError(f"invalid path stat header {raw[:80]!r}") from None
    if not isinstance(stat, dict):
        raise ProtocolError(f"invalid path stat header {raw[:80]!r}")
    return stat


class ArchiveAPI(BaseClient):
    def container_stat_path(self, container: str, path: str) -> JSONObject:
        """``HEAD /containers/{id}/archive``; a missing path (or container) raises :class:`NotFoundError`."""
        target = f"/containers/{path_segment(container)}/archive"
        with self._send("HEAD", target, {"path": path}) as response:
            if response.status == 404:  # a HEAD answer has no body to carry the message
                raise NotFoundError(404, f"Could not find the file {path} in container {container}")
            if response.status >= 400:
                raise NotFoundError(response.status, f"{response.status} {response.reason}".strip())
            return decode_path_stat(response)

    def container_archive_get(self, container: str, path: str) -> tuple[JSONObject, Iterator[bytes]]:
        """``GET /containers/{id}/archive``: the path's stat and its tar, read incrementally."""
        response = self._open("GET", f"/containers/{path_segment(container)}/archive", {"path": path})
        try:
            stat = decode_path_stat(response)
        except BaseException:
            response.close()
            raise

        def chunks() -> Iterator[bytes]:
            with response:
                yield from response.iter_bytes()

        return stat, chunks()

    def container_archive_put(
        self,
        container: str,
        path: str,
        tar: Body,
        *,
        no_overwrite_dir_non_dir: bool = True,
        copy_uid_gid: bool = False,
    ) -> None:
        """``PUT /containers/{id}/archive``: extract ``tar`` into the directory ``path``."""
        query = {
            "path": path,
            "noOverwriteDirNonDir": no_overwrite_dir_non_dir or None,
            "copyUIDGID": copy_uid_gid or None,
        }
        response = self._open(
            "PUT",
            f"/containers/{path_segment(container)}/archive",
            query,
            body=tar,
            headers={"Content-Type": "application/x-tar"},
        )
        with response:
            response.read()
