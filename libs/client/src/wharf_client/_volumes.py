"""Volume endpoints of the Engine API."""

from __future__ import annotations

from ._base import BaseClient, JSONObject, filters_param, path_segment

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class VolumesAPI(BaseClient):
    def volume_list(self, *, filters: Mapping[str, Sequence[str]] | None = None) -> JSONObject:
        """``GET /volumes``: ``{"Volumes": [...], "Warnings": [...]}``."""
        result: JSONObject = self._call("GET", "/volumes", {"filters": filters_param(filters)})
        return result

    def volume_create(
        self,
        name: str | None = None,
        *,
        driver: str | None = None,
        driver_opts: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> JSONObject:
        body = {
            "Name": name or "",
            "Driver": driver or "local",
            "DriverOpts": dict(driver_opts or {}),
            "Labels": dict(labels or {}),
        }
        result: JSONObject = self._call("POST", "/volumes/create", json_body=body)
        return result

    def volume_inspect(self, name: str) -> JSONObject:
        result: JSONObject = self._call("GET", f"/volumes/{path_segment(name)}")
        return result

    def volume_remove(self, name: str, *, force: bool = False) -> None:
        self._call("DELETE", f"/volumes/{path_segment(name)}", {"force": force or None})

    def volume_prune(self, *, filters: Mapping[str, Sequence[str]] | None = None) -> JSONObject:
        """``POST /volumes/prune``: ``{"VolumesDeleted": [...] | None, "SpaceReclaimed": int}``."""
        result: JSONObject = self._call("POST", "/volumes/prune", {"filters": filters_param(filters)})
        return result
