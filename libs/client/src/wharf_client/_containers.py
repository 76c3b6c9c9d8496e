"""Container endpoints of the Engine API."""

from __future__ import annotations

from . import lean as json
from ._base import BaseClient, JSONObject, filters_param, path_segment
from ._errors import ProtocolError, ServerError
from ._frames import SYSTEMERR, Frame, demultiplex, is_multiplexed, raw_frames
from ._hijack import UPGRADE_HEADERS, HijackedStream
from ._http import Response

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from typing import Any


class PendingWait:
    """A ``POST /containers/{id}/wait`` whose headers have arrived; :meth:`result` blocks for the body.

    The engine flushes the ``200`` headers as soon as the wait is registered, so a client can start the
    container afterwards without missing the exit (this is how ``docker run`` orders its calls).
    """

    def __init__(self, response: Response) -> None:
        self._response = response

    def result(self) -> JSONObject:
        """``{"StatusCode": int, "Error": {"Message": str} | None}``."""
        try:
            data = self._response.read()
        finally:
            self._response.close()
        try:
            payload = json.loads(data)
        except ValueError:
            raise ProtocolError(f"invalid wait response {data[:80]!r}") from None
        if not isinstance(payload, dict):
            raise ProtocolError(f"invalid wait response {data[:80]!r}")
        return payload

    def close(self) -> None:
        self._response.close()


class ContainersAPI(BaseClient):
    def container_create(
        self, config: Mapping[str, Any], *, name: str | None = None, platform: str | None = None
    ) -> JSONObject:
        """``POST /containers/create``; ``config`` is Config plus ``HostConfig``/``NetworkingConfig``.

        Returns ``{"Id": str, "Warnings": [str]}``.
        """
        result: JSONObject = self._call(
            "POST", "/containers/create", {"name": name, "platform": platform}, json_body=dict(config)
        )
        return result

    def container_start(self, container: str) -> None:
        self._call("POST", f"/containers/{path_segment(container)}/start")

    def container_stop(
        self, container: str, *, timeout: int | None = None, signal: str | None = None
    ) -> None:
        self._call("POST", f"/containers/{path_segment(container)}/stop", {"t": timeout, "signal": signal})

    def container_restart(
        self, container: str, *, timeout: int | None = None, signal: str | None = None
    ) -> None:
        self._call("POST", f"/containers/{path_segment(container)}/restart", {"t": timeout, "signal": signal})

    def container_kill(self, container: str, *, signal: str | None = None) -> None:
        self._call("POST", f"/containers/{path_segment(container)}/kill", {"signal": signal})

    def container_remove(
        self, container: str, *, force: bool = False, volumes: bool = False, link: bool = False
    ) -> None:
        query = {"force": force or None, "v": volumes or None, "link": link or None}
        self._call("DELETE", f"/containers/{path_segment(container)}", query)

    def container_list(
        self,
        *,
        all: bool = False,
        limit: int | None = None,
        size: bool = False,
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> list[JSONObject]:
        query = {
            "all": all or None,
            "limit": limit if limit is not None and limit > 0 else None,
            "size": size or None,
            "filters": filters_param(filters),
        }
        result: list[JSONObject] = self._call("GET", "/containers/json", query)
        return result

    def container_inspect(self, container: str, *, size: bool = False) -> JSONObject:
        result: JSONObject = self._call(
            "GET", f"/containers/{path_segment(container)}/json", {"size": size or None}
        )
        return result

    def container_logs(
        self,
        container: str,
        *,
        stdout: bool = True,
        stderr: bool = True,
        follow: bool = False,
        tail: str | int = "all",
        timestamps: bool = False,
        since: str | None = None,
        until: str | None = None,
        tty: bool | None = None,
    ) -> Iterator[Frame]:
        """Open the log stream and return an iterator of ``(stream_type, bytes)`` read incrementally.

        The request is sent (and errors raised) before this returns. Output is demultiplexed unless the
        container has a TTY (from the Content-Type, or ``tty`` when the engine does not say).
        """
        query = {
            "stdout": stdout,
            "stderr": stderr,
            "follow": follow or None,
            "tail": str(tail),
            "timestamps": timestamps or None,
            "since": since,
            "until": until,
        }
        response = self._open("GET", f"/containers/{path_segment(container)}/logs", query)
        return _iter_frames(response, is_multiplexed(response.content_type, tty))

    def container_wait(self, container: str, *, condition: str | None = None) -> JSONObject:
        """Block until the condition is met; returns ``{"StatusCode": int, "Error": ...}``."""
        return self.container_wait_begin(container, condition=condition).result()

    def container_wait_begin(self, container: str, *, condition: str | None = None) -> PendingWait:
        """Register a wait (returns once the engine sent the headers); read the result later."""
        response = self._open("POST", f"/containers/{path_segment(container)}/wait", {"condition": condition})
        return PendingWait(response)

    def container_attach(
        self,
        container: str,
        *,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        logs: bool = False,
        stream: bool = True,
        detach_keys: str | None = None,
        tty: bool | None = None,
    ) -> HijackedStream:
        """Hijack ``POST /containers/{id}/attach``: a raw socket carrying stdin in and output out."""
        query = {
            "stream": stream,
            "stdin": stdin,
            "stdout": stdout,
            "stderr": stderr,
            "logs": logs or None,
            "detachKeys": detach_keys,
        }
        response = self._open(
            "POST", f"/containers/{path_segment(container)}/attach", query, headers=UPGRADE_HEADERS
        )
        if response.status != 101:
            response.close()
            raise ProtocolError(f"unable to upgrade to tcp, received {response.status}")
        return HijackedStream.from_response(response, tty=tty)

    def container_resize(self, container: str, *, height: int, width: int) -> None:
        self._call("POST", f"/containers/{path_segment(container)}/resize", {"h": height, "w": width})


def _iter_frames(response: Response, multiplexed: bool) -> Iterator[Frame]:
    with response:
        if not multiplexed:
            yield from raw_frames(response.iter_bytes())
            return
        for stream, payload in demultiplex(response.iter_bytes()):
            if stream == SYSTEMERR:
                raise ServerError(500, payload.decode("utf-8", "replace"))
            yield stream, payload
