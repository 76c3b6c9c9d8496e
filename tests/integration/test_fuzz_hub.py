"""schemathesis against a real hub process (SQLite), from the OpenAPI description it serves.

The fuzzer signs in with an access token of its own user, who owns a repository, so the
generated requests reach past authentication; the path parameters' examples name them.
Webhook deliveries are off (no worker), and the hub's registry is a closed loopback port.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from fuzzing import Fuzzer, destructive_last, json_of
from schemathesis import Case, Response
from wharf_hub.testing import HubProcess

pytestmark = pytest.mark.slow

USER, PASSWORD, REPO = "fuzzer", "fuzz-password-1", "repo"
PROBLEM_KEYS = {"type", "title", "status", "detail"}


@dataclass
class Hub:
    process: HubProcess
    token: str
    token_id: int


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    root = Path(tempfile.mkdtemp(prefix="wharf-fuzz-hub-"))
    process = HubProcess(root / "hub", worker=False)
    try:
        process.start()
        process.create_user(USER, PASSWORD)
        basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        made = requests.post(
            f"{process.url}/api/v1/user/tokens",
            json={"name": "fuzz"},
            headers={"Authorization": f"Basic {basic}"},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        token = Hub(process, made.json()["token"], made.json()["id"])
        repo = requests.post(
            f"{process.url}/api/v1/repositories",
            json={"namespace": USER, "name": REPO, "description": "fuzzed"},
            headers={"Authorization": f"Bearer {token.token}"},
            timeout=30,
        )
        assert repo.status_code == 201, repo.text
        yield token
    finally:
        process.stop()
        shutil.rmtree(root, ignore_errors=True)


def problem_shape(response: Response) -> str | None:
    """RFC 9457 problem JSON, its ``status`` the response's."""
    body = json_of(response)
    content_type = response.headers.get("content-type", [""])[0]
    if not content_type.startswith("application/problem+json"):
        return f"content type {content_type!r}, not problem JSON"
    if not isinstance(body, dict) or set(body) != PROBLEM_KEYS:
        return "not {type, title, status, detail}"
    if body["status"] != response.status_code or not isinstance(body["detail"], str):
        return "status or detail wrong"
    if body["title"] != HTTPStatus(response.status_code).phrase:
        return f"title {body['title']!r}"
    return None


def with_examples(spec: dict[str, Any]) -> dict[str, Any]:
    """Point the path parameters at the fuzzer's user and repository (the explicit examples)."""
    examples = {"namespace": USER, "username": USER, "name": REPO}
    for operations in spec["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in examples:
                    parameter["example"] = examples[parameter["name"]]
    return spec


def keep_token(token_id: int) -> Any:
    """Never revoke the fuzzer's own token (every later request would be anonymous)."""

    def prepare(case: Case[Any]) -> None:
        if case.path_parameters and case.path_parameters.get("token_id") == token_id:
            case.path_parameters["token_id"] = token_id + 1

    return prepare


def test_hub_api_answers_fuzzed_requests_without_server_errors(hub: Hub) -> None:
    spec = requests.get(f"{hub.process.url}/api/openapi.json", timeout=30).json()
    # /api/v1/..., the build-trigger callback /u/<ns>/<name>/hook/<secret>/ and the registry token
    # endpoint /v2/token (with the registries' /v2/_registry/events): all answer problem JSON
    assert all(path.startswith(("/api/", "/u/", "/v2/")) for path in spec["paths"]), list(spec["paths"])
    schema = schemathesis.openapi.from_dict(destructive_last(with_examples(spec)))
    fuzzer = Fuzzer(
        hub.process.url,
        problem_shape,
        headers={"Authorization": f"Bearer {hub.token}"},
        prepare=keep_token(hub.token_id),
    )
    failures = fuzzer.run(schema)
    assert not failures, "\n\n".join(failures) + "\n\nhub log:\n" + tail(hub.process.log_path)


def tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# what the fuzzer found, one plain request each


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/user/tokens/{2**63}",  # past SQLite's INTEGER: OverflowError, a 500
        f"/api/v1/user/tokens/{2**31}",  # past PostgreSQL's int4
        f"/api/v1/repositories/{USER}/{REPO}/webhooks/{2**63}",
    ],
)
def test_an_id_too_large_for_the_database_is_a_400(hub: Hub, path: str) -> None:
    r = requests.delete(
        f"{hub.process.url}{path}", headers={"Authorization": f"Bearer {hub.token}"}, timeout=30
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json") and r.json()["status"] == 400
