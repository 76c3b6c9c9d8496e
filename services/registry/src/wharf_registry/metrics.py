"""Counters for ``GET /metrics``, rendered in the Prometheus text format (version 0.0.4)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Metrics:
    requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: Counter[tuple[str, int]] = field(default_factory=Counter)
    bytes_in: int = 0
    bytes_out: int = 0
    checksum_failures: int = 0
    aborted_uploads: int = 0

    def observe(self, method: str, status: int, bytes_in: int, bytes_out: int) -> None:
        self.requests[(method, status)] += 1
        if status >= 400:
            self.errors[(method, status)] += 1
        self.bytes_in += bytes_in
        self.bytes_out += bytes_out

    def render(self) -> str:
        lines: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")

        family("wharf_registry_http_requests_total", "counter", "HTTP requests by method and status.")
        for (method, status), n in sorted(self.requests.items()):
            lines.append(f'wharf_registry_http_requests_total{{method="{method}",status="{status}"}} {n}')
        family("wharf_registry_http_errors_total", "counter", "HTTP responses with status >= 400.")
        for (method, status), n in sorted(self.errors.items()):
            lines.append(f'wharf_registry_http_errors_total{{method="{method}",status="{status}"}} {n}')
        family("wharf_registry_http_request_bytes_total", "counter", "Request body bytes received.")
        lines.append(f"wharf_registry_http_request_bytes_total {self.bytes_in}")
        family("wharf_registry_http_response_bytes_total", "counter", "Response body bytes sent.")
        lines.append(f"wharf_registry_http_response_bytes_total {self.bytes_out}")
        family("wharf_registry_checksum_failures_total", "counter", "Layer checksums that did not match.")
        lines.append(f"wharf_registry_checksum_failures_total {self.checksum_failures}")
        family("wharf_registry_aborted_uploads_total", "counter", "Layer uploads cut off before the end.")
        lines.append(f"wharf_registry_aborted_uploads_total {self.aborted_uploads}")
        return "\n".join(lines) + "\n"
