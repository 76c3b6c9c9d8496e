"""Fuzz an HTTP API from its OpenAPI description with schemathesis, against a real process.

Every operation gets ``WHARF_FUZZ_EXAMPLES`` generated requests (default 8) that fit its
description and as many that do not; a run is deterministic for a given ``WHARF_FUZZ_SEED``
(default 0), so CI sees the same requests every time. Raise both for a deeper local run::

    WHARF_FUZZ_EXAMPLES=200 WHARF_FUZZ_SEED=$RANDOM .venv/bin/pytest --timeout 0 tests/integration -k fuzz

A response fails when it is a 5xx, when its body holds a Python traceback, or when a 4xx body
is not the service's error shape (``error_shape`` says what is wrong, or None).
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from unittest import SkipTest

import requests
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode, Response
from schemathesis.core import NotSet
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation, BaseSchema

EXAMPLES = int(os.environ.get("WHARF_FUZZ_EXAMPLES", "8"))
SEED = int(os.environ.get("WHARF_FUZZ_SEED", "0"))
VERBOSE = os.environ.get("WHARF_FUZZ_VERBOSE") == "1"  # each operation's time, with pytest -s
TRACEBACK = "Traceback (most recent call last)"

ErrorShape = Callable[[Response], str | None]
Prepare = Callable[[Case[Any]], None]


def json_of(response: Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def message_shape(key: str) -> ErrorShape:
    """``{"<key>": "<text>"}``: the engine's ``message``, the registry's ``error``."""

    def check(response: Response) -> str | None:
        body = json_of(response)
        if isinstance(body, dict) and isinstance(body.get(key), str) and body[key]:
            return None
        return f'not {{"{key}": str}}'

    return check


@dataclass
class Fuzzer:
    """One service: where it listens, what every request carries, what its errors look like."""

    base_url: str
    error_shape: ErrorShape
    headers: dict[str, str] = field(default_factory=dict)
    prepare: Prepare | None = None  # rewrite a generated case before it is sent (keep it local)
    session: requests.Session = field(default_factory=requests.Session)

    def judge(self, response: Response) -> str | None:
        if response.status_code >= 500:
            return f"{response.status_code}"
        if TRACEBACK in response.text_lossy():
            return "a traceback in the body"
        if 400 <= response.status_code < 500:
            problem = self.error_shape(response)
            if problem is not None:
                return f"{response.status_code} {problem}"
        return None

    def send(self, case: Case[Any]) -> Response:
        if self.prepare is not None:
            self.prepare(case)
        return case.call(base_url=self.base_url, session=self.session, headers=self.headers, timeout=20)

    def operation(self, operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode) -> str | None:
        """Fuzz one operation; the smallest failing request, or None."""
        failure: list[str] = []

        @seed(SEED)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=False,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            report_multiple_bugs=False,
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Case[Any]) -> None:
            response = self.send(case)
            problem = self.judge(response)
            if problem is not None:
                failure[:] = [describe(case, response, problem)]
                raise AssertionError(problem)

        try:
            run()
        except (Unsatisfiable, SkipTest):  # nothing to vary (negative data for an operation without input)
            return None
        except AssertionError:
            return failure[-1] if failure else "failed"
        except Exception as exc:  # the service went away, or hypothesis saw it answer two ways
            return f"{type(exc).__name__}: {exc}"[:2000] + (f"\n  last: {failure[-1]}" if failure else "")
        return None

    def run(self, schema: BaseSchema) -> list[str]:
        """Every operation, both ways; the failures (empty when none)."""
        failures = []
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):
                failures.append(f"the description is broken: {result.err()}")
                continue
            operation = result.ok()
            modes = [GenerationMode.POSITIVE]
            if can_be_wrong(operation.definition.raw, schema.raw_schema):
                modes.append(GenerationMode.NEGATIVE)
            for mode in modes:
                started = time.monotonic()
                found = self.operation(operation, mode)
                if VERBOSE:
                    print(f"fuzz {time.monotonic() - started:6.2f} s {operation.label} [{mode.value}]")
                if found is not None:
                    failures.append(f"{operation.label} [{mode.value}]: {found}")
        return failures


def destructive_last(spec: dict[str, Any]) -> dict[str, Any]:
    """Paths with a DELETE, and prunes, last: the examples' objects live until then."""

    def destructive(item: tuple[str, Any]) -> bool:
        path, operations = item
        return path.endswith("/prune") or "delete" in operations

    spec["paths"] = dict(sorted(spec["paths"].items(), key=destructive))
    return spec


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = functools.reduce(lambda d, k: d[k], node["$ref"].removeprefix("#/").split("/"), spec)
    return node


FREE = {"type", "example", "examples", "description", "title", "default"}


def can_be_wrong(operation: dict[str, Any], spec: dict[str, Any]) -> bool:
    """Whether negative data can say something: the operation has a body, or a parameter that
    is required outside the path or is more than a free string. (Data that breaks a free string
    in a path cannot be sent: schemathesis spends seconds looking for it and finds none.)"""
    if "requestBody" in operation:
        return True
    for parameter in operation.get("parameters", []):
        parameter = _resolve(spec, parameter)
        schema = _resolve(spec, parameter.get("schema", {}))
        if parameter.get("required") and parameter["in"] != "path":
            return True
        if schema.get("type") != "string" or set(schema) - FREE:
            return True
    return False


def describe(case: Case[Any], response: Response, problem: str) -> str:
    body = response.text_lossy()[:600]
    sent = response.request
    return (
        f"{problem}\n  {sent.method} {sent.url}\n  headers: {dict(case.headers or {})}\n"
        f"  body: {'-' if isinstance(case.body, NotSet) else json.dumps(case.body, default=repr)[:600]}\n"
        f"  -> {response.status_code} {body}"
    )


__all__ = ["EXAMPLES", "SEED", "Fuzzer", "destructive_last", "json_of", "message_shape"]
