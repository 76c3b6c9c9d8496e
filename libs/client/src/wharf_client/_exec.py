"""Exec endpoints of the Engine API: create, start (detached or hijacked), inspect, resize."""

from __future__ import annotations

from ._base import BaseClient, JSONObject, path_segment
from ._errors import ProtocolError
from ._hijack import UPGRADE_HEADERS, HijackedStream

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


class ExecAPI(BaseClient):
    def exec_create(self, container: str, config: Mapping[str, Any]) -> JSONObject:
        """``POST /containers/{id}/exec`` (``Cmd``, ``Tty``, ``AttachStdin``, ``Env``...); ``{"Id"}``."""
        result: JSONObject = self._call(
            "POST", f"/containers/{path_segment(container)}/exec", json_body=dict(config)
        )
        return result

    def exec_start(self, exec_id: str, *, tty: bool = False) -> None:
        """Start the process detached (``docker exec -d``): the engine answers once it runs."""
        self._call("POST", f"/exec/{path_segment(exec_id)}/start", json_body={"Detach": True, "Tty": tty})

    def exec_attach(self, exec_id: str, *, tty: bool = False) -> HijackedStream:
        """Start the process attached: hijack ``POST /exec/{id}/start`` (stdin in, output out)."""
        response = self._open(
            "POST",
            f"/exec/{path_segment(exec_id)}/start",
            json_body={"Detach": False, "Tty": tty},
            headers=UPGRADE_HEADERS,
        )
        if response.status != 101:
            response.close()
            raise ProtocolError(f"unable to upgrade to tcp, received {response.status}")
        return HijackedStream.from_response(response, tty=tty)

    def exec_inspect(self, exec_id: str) -> JSONObject:
        """``GET /exec/{id}/json``: ``Running``, ``ExitCode`` (``None`` until it exited), ``Pid``..."""
        result: JSONObject = self._call("GET", f"/exec/{path_segment(exec_id)}/json")
        return result

    def exec_resize(self, exec_id: str, *, height: int, width: int) -> None:
        self._call("POST", f"/exec/{path_segment(exec_id)}/resize", {"h": height, "w": width})
