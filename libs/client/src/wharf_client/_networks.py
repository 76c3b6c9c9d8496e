"""Network endpoints of the Engine API."""

from __future__ import annotations

from ._base import BaseClient, JSONObject, filters_param, path_segment

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any


class NetworksAPI(BaseClient):
    def network_list(self, *, filters: Mapping[str, Sequence[str]] | None = None) -> list[JSONObject]:
        """``GET /networks``: Docker's Network objects."""
        result: list[JSONObject] = self._call("GET", "/networks", {"filters": filters_param(filters)})
        return result

    def network_create(self, body: Mapping[str, Any]) -> JSONObject:
        """``POST /networks/create`` with Docker's NetworkCreateRequest: ``{"Id", "Warning"}``."""
        result: JSONObject = self._call("POST", "/networks/create", json_body=dict(body))
        return result

    def network_inspect(self, ref: str) -> JSONObject:
        result: JSONObject = self._call("GET", f"/networks/{path_segment(ref)}")
        return result

    def network_connect(
        self, ref: str, container: str, endpoint_config: Mapping[str, Any] | None = None
    ) -> None:
        body = {"Container": container, "EndpointConfig": dict(endpoint_config or {})}
        self._call("POST", f"/networks/{path_segment(ref)}/connect", json_body=body)

    def network_disconnect(self, ref: str, container: str, *, force: bool = False) -> None:
        body = {"Container": container, "Force": force}
        self._call("POST", f"/networks/{path_segment(ref)}/disconnect", json_body=body)

    def network_remove(self, ref: str) -> None:
        self._call("DELETE", f"/networks/{path_segment(ref)}")

    def network_prune(self, *, filters: Mapping[str, Sequence[str]] | None = None) -> JSONObject:
        """``POST /networks/prune``: ``{"NetworksDeleted": [...] | None}``."""
        result: JSONObject = self._call("POST", "/networks/prune", {"filters": filters_param(filters)})
        return result
