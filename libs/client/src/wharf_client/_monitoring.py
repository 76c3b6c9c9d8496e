"""Looking at running containers and the engine: top, stats, events, and rename."""

from __future__ import annotations

from ._base import BaseClient, JSONObject, filters_param, path_segment
from ._http import iter_json_values

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence


class MonitoringAPI(BaseClient):
    def container_top(self, container: str, *, ps_args: str | None = None) -> JSONObject:
        """``GET /containers/{id}/top``: ``{"Titles": [...], "Processes": [[...], ...]}``."""
        result: JSONObject = self._call(
            "GET", f"/containers/{path_segment(container)}/top", {"ps_args": ps_args or None}
        )
        return result

    def container_rename(self, container: str, name: str) -> None:
        self._call("POST", f"/containers/{path_segment(container)}/rename", {"name": name})

    def container_stats(self, container: str) -> JSONObject:
        """One stats sample (``stream=0``), with ``precpu_stats`` from the engine's previous reading."""
        result: JSONObject = self._call(
            "GET", f"/containers/{path_segment(container)}/stats", {"stream": False}
        )
        return result

    def events(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> Iterator[JSONObject]:
        """``GET /events``: messages as they happen (past ones from ``since``), until ``until`` if given."""
        query = {"since": since, "until": until, "filters": filters_param(filters)}
        response = self._open("GET", "/events", query)

        def messages() -> Iterator[JSONObject]:
            with response:
                yield from iter_json_values(response.iter_bytes())

        return messages()
