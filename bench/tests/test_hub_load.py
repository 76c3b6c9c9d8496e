"""bench/hub_load.py: wrk's output read into the JSON the benches read, the Lua script it writes,
the fallback to Python threads without wrk, and real loads on a local HTTP server (wrk's only when
it is installed: ``make bench`` installs it, ``make test`` does not need it)."""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

LOAD_PY = Path(__file__).resolve().parents[1] / "hub_load.py"
CONTRACT = {"requests", "errors", "seconds", "rps", "p50_ms", "p99_ms", "concurrency", "statuses"}
CONTRACT |= {"error_sample", "client_cpu_s", "generator"}

if TYPE_CHECKING:
    from bench import hub_load
else:  # bench/ is a directory of scripts: load hub_load.py by path
    _spec = importlib.util.spec_from_file_location("hub_load", LOAD_PY)
    hub_load = importlib.util.module_from_spec(_spec)
    sys.modules["hub_load"] = hub_load
    _spec.loader.exec_module(hub_load)

# what wrk 4.1.0 printed for 0.3 s of 404s, 2 connections (its report, then the script's line)
WRK_404 = """\
Running 3s test @ http://127.0.0.1:18933/nothere
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.35ms    1.63ms  12.68ms   86.10%
    Req/Sec     2.07k     0.89k    2.85k    66.67%
  621 requests in 300.70ms, 315.53KB read
  Non-2xx or 3xx responses: 621
Requests/sec:   2065.21
Transfer/sec:      1.02MB
hub_load-wrk {"duration_us": 300696, "budget_s": null, "statuses": {"404": 621}, "socket_errors": \
{"connect": 0, "read": 0, "write": 0, "timeout": 0}, "p50_us": 520, "p99_us": 7831}
"""


def wrk_line(**changes: Any) -> str:
    raw = {
        "duration_us": 2_000_000,
        "budget_s": None,
        "statuses": {"200": 1990, "401": 10},
        "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0},
        "p50_us": 1234,
        "p99_us": 9876,
    }
    return "Running 3s test @ http://127.0.0.1:1/\n" + hub_load.WRK_MARK + json.dumps(raw | changes) + "\n"


def test_wrk_output_becomes_the_same_json_as_the_threads() -> None:
    result = hub_load.from_wrk(wrk_line(), 16, 0.0456)
    assert set(result) == CONTRACT
    assert result["requests"] == 2000 and result["errors"] == 10
    assert result["seconds"] == 2.0 and result["rps"] == 995.0  # good responses only
    assert (result["p50_ms"], result["p99_ms"]) == (1.234, 9.876)
    assert result["statuses"] == {"200": 1990, "401": 10}
    assert result["error_sample"] == "HTTP 401"
    assert (result["concurrency"], result["client_cpu_s"], result["generator"]) == (16, 0.046, "wrk")


def test_wrk_socket_errors_count_as_failed_requests() -> None:
    errors = {"connect": 0, "read": 3, "write": 0, "timeout": 2}
    result = hub_load.from_wrk(wrk_line(statuses={"200": 100}, socket_errors=errors), 4, 0.0)
    assert result["requests"] == 105 and result["errors"] == 5
    assert result["statuses"] == {"200": 100, "wrk:read": 3, "wrk:timeout": 2}
    assert result["error_sample"] == "3 read errors (wrk), 2 timeout errors (wrk)"


def test_a_run_stopped_by_the_request_budget_is_timed_to_its_last_response() -> None:
    result = hub_load.from_wrk(wrk_line(statuses={"200": 500}, budget_s=0.25), 1, 0.0)
    assert result["seconds"] == 0.25 and result["rps"] == 2000.0


def test_no_good_response_has_no_latency_and_a_real_404_run_reads_as_errors() -> None:
    result = hub_load.from_wrk(WRK_404, 2, 0.02)
    assert (result["requests"], result["errors"], result["rps"]) == (621, 621, 0.0)
    assert result["p50_ms"] is None and result["p99_ms"] is None
    assert result["error_sample"] == "HTTP 404" and result["seconds"] == 0.3007


def test_output_without_the_script_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="hub_load-wrk"):
        hub_load.from_wrk("Running 3s test @ http://127.0.0.1:1/\n", 1, 0.0)


def test_the_lua_script_carries_method_headers_and_body_escaped() -> None:
    req = hub_load.Request("127.0.0.1", 1, "POST", "/", {"X-A": 'b"\\\n]]é'}, b"k=v", 10.0)
    script = hub_load.wrk_script(req, 250)
    assert 'wrk.method = "POST"' in script and "local budget = 250" in script
    assert 'wrk.headers["X\\045A"] = "b\\034\\092\\010\\093\\093\\195\\169"' in script
    assert 'wrk.body = "k\\061v"' in script
    assert script.isascii() and "%" not in script.replace("%d", "").replace("%s", "").replace("%.6f", "")


def test_headers_on_more_than_one_line_are_refused() -> None:
    with pytest.raises(SystemExit, match="one line"):
        hub_load.main(["http://127.0.0.1:1/", "-H", "X-A: b\r\nX-B: c", "--generator", "threads"])


def test_only_loopback_urls_are_loaded() -> None:
    with pytest.raises(SystemExit, match="loopback"):
        hub_load.main(["http://192.0.2.1/", "--generator", "threads"])


class Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the hub

    def setup(self) -> None:
        super().setup()  # headers and body go out in two writes: no Nagle wait for the second
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        status = 200 if self.headers.get("X-Token") == "yes" else 401
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/x"
    finally:
        httpd.shutdown()
        httpd.server_close()


def run(url: str, *args: str, path: str | None = None) -> dict[str, Any]:
    env = dict(os.environ, PATH=path if path is not None else os.environ.get("PATH", ""))
    env.pop("WHARF_HUB_LOAD_GENERATOR", None)
    argv = [sys.executable, str(LOAD_PY), url, "-c", "2", "-d", "0.4", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=True)
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    assert set(result) - {"threads"} == CONTRACT
    return result


def test_without_wrk_on_path_the_threads_make_the_load(server: str, tmp_path: Path) -> None:
    result = run(server, "-H", "X-Token: yes", path=str(tmp_path))  # an empty PATH: no wrk
    assert result["generator"] == "threads"
    assert (
        result["errors"] == 0
        and result["requests"] > 10
        and result["statuses"] == {"200": result["requests"]}
    )


def test_asking_for_wrk_without_it_is_a_clear_error(server: str, tmp_path: Path) -> None:
    env = dict(os.environ, PATH=str(tmp_path))
    argv = [sys.executable, str(LOAD_PY), server, "--generator", "wrk"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode != 0 and "wrk is not installed" in done.stderr


needs_wrk = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (make bench installs it)"
)


@needs_wrk
def test_wrk_loads_a_real_server_with_the_headers_given(server: str) -> None:
    good = run(server, "-H", "X-Token: yes", "--warmup", "0.2")
    assert good["generator"] == "wrk" and good["threads"] == 1
    assert good["errors"] == 0 and good["requests"] > 10 and good["rps"] > 0
    assert 0.3 < good["seconds"] < 1.0 and 0 < good["p50_ms"] <= good["p99_ms"]
    bad = run(server)  # no header: every answer a 401
    assert bad["errors"] == bad["requests"] > 0 and bad["error_sample"] == "HTTP 401"


@needs_wrk
def test_wrk_stops_at_the_request_budget(server: str) -> None:
    result = run(server, "-H", "X-Token: yes", "-n", "50")
    assert 50 <= result["requests"] <= 52  # both connections may answer after the 50th
    assert result["seconds"] < 0.4


@needs_wrk
def test_wrk_that_cannot_connect_reports_an_error_not_a_crash(tmp_path: Path) -> None:
    result = run("http://127.0.0.1:9/", "--generator", "wrk")
    assert result["errors"] == result["requests"] == 1 and "wrk exited" in result["error_sample"]
