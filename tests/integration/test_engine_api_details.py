"""What clients rely on, answered as Docker answers: swarm endpoints, system df, update.

With the real docker CLI, docker-py and raw requests against a real engine.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root, needs_docker]

NOT_A_MANAGER = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect '
    "this node to swarm and try again."
)


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/swarm"), ("GET", "/v1.41/nodes"), ("GET", "/services"), ("POST", "/v1.45/services/create"),
     ("GET", "/tasks"), ("GET", "/secrets/x"), ("DELETE", "/v1.43/configs/x"), ("POST", "/swarm/init")],
)  # fmt: skip
def test_swarm_endpoints_answer_503_not_a_manager(engine: Engine, method: str, path: str) -> None:
    status, body = engine.request(method, path, {} if method == "POST" else None)
    assert status == 503, body
    assert json.loads(body) == {"message": NOT_A_MANAGER}


def test_swarm_leave_says_not_part_of_a_swarm(engine: Engine) -> None:
    status, body = engine.request("POST", "/swarm/leave")
    assert (status, json.loads(body)) == (503, {"message": "This node is not part of a swarm"})


def test_docker_cli_node_and_service_ls_print_dockers_message(engine: Engine) -> None:
    for command in (("node", "ls"), ("service", "ls"), ("secret", "ls"), ("config", "ls")):
        result = engine.docker(*command)
        assert result.returncode != 0
        assert NOT_A_MANAGER in result.stderr.decode(), command
