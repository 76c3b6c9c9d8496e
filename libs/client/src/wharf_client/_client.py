"""The engine client: system endpoints plus the container and image groups."""

from __future__ import annotations

from ._archive import ArchiveAPI
from ._base import JSONObject
from ._build import BuildAPI
from ._containers import ContainersAPI
from ._exec import ExecAPI
from ._images import ImagesAPI
from ._monitoring import MonitoringAPI
from ._networks import NetworksAPI
from ._registry import RegistryAPI
from ._volumes import VolumesAPI


class EngineClient(
    ContainersAPI,
    ImagesAPI,
    BuildAPI,
    ExecAPI,
    VolumesAPI,
    NetworksAPI,
    ArchiveAPI,
    MonitoringAPI,
    RegistryAPI,
):
    """A synchronous Docker Engine API client (stdlib only), e.g. ``EngineClient("unix:///run/wharf/engine.sock")``.

    The API version is negotiated on first use like the docker CLI (``HEAD /_ping``, ``Api-Version`` header,
    ``min(1.44, server)``) unless ``version=`` is given. Calls made one after another share a kept-alive
    connection (:meth:`close` closes it); a call made while another is in flight opens its own, and a
    hijacked stream keeps the connection it was made on.
    """

    def ping(self) -> dict[str, str]:
        """The ``/_ping`` response headers (lower-cased names: ``api-version``, ``ostype``, ...)."""
        self._ping_headers = None
        return dict(self._ping())

    def version(self) -> JSONObject:
        result: JSONObject = self._call("GET", "/version")
        return result

    def info(self) -> JSONObject:
        result: JSONObject = self._call("GET", "/info")
        return result
