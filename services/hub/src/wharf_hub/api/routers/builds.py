"""Automated builds: ``/api/v1/repositories/{namespace}/{name}/autobuild`` (settings, owners),
``.../builds`` (list, start, show with the log, cancel), the trigger URL
(``.../trigger/{token}/``, Docker Hub's remote build trigger), push webhooks from git forges
(``.../autobuild/push``), and the builders' own API
(``/api/builder/...``, the shared builder secret; not in the OpenAPI description)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from wharf_common import jsonsafe
from wharf_common.errors import InvalidArgument, Unauthorized

from ...db.models import AutomatedBuild
from ...hub import Hub
from ...services import buildqueue
from ...services.access import Role
from ...services.builds import RuleSpec
from ...services.errors import NoSuchRepository
from ...services.pushhooks import parse_push
from ..deps import api_signed_in
from ..schemas.builds import (
    AutomatedBuildIn,
    AutomatedBuildInfo,
    BuildDetail,
    BuildInfo,
    RemoteTriggerIn,
    TriggerIn,
)
from ..v1 import new_router, problems

REPOSITORY = "/repositories/{namespace}/{name}"
PUSH_WEBHOOK = r"/api/v1/repositories/[^/]+/[^/]+/autobuild/push"
PUSH_WEBHOOK_BODY = 25 << 20
"""GitHub's cap on a push payload (the hub's own limit is smaller)."""
MAX_LOG_PIECE = 1 << 20


def _api(hub: Hub) -> APIRouter:
    r = new_router("builds")

    def info(auto: AutomatedBuild, owner: bool) -> AutomatedBuildInfo:
        return AutomatedBuildInfo.of(auto, hub.settings.url, owner=owner)

    @r.get(f"{REPOSITORY}/autobuild", summary="Automated-build settings", responses=problems(401, 403, 404))
    def get_autobuild(namespace: str, name: str, request: Request) -> AutomatedBuildInfo:
        """Those who may push see the settings; owners also see the trigger URL and webhook secret."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            auto = hub.builds.automation(s, user, repo)
            if auto is None:
                raise NoSuchRepository(f"{repo.remote} has no automated build")
            return info(auto, hub.repos.role(s, user, repo) >= Role.ADMIN)

    @r.put(
        f"{REPOSITORY}/autobuild",
        summary="Create or change the automated build",
        responses=problems(401, 403, 404),
    )
    def put_autobuild(
        namespace: str, name: str, body: AutomatedBuildIn, request: Request
    ) -> AutomatedBuildInfo:
        """Owners (and organisation owners) only. The repository shows as automated in search."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            rules = [RuleSpec(**rule.model_dump()) for rule in body.rules]
            auto = hub.builds.configure(s, user, repo, body.source_url, body.autobuild, rules, body.links)
            return info(auto, True)

    @r.delete(
        f"{REPOSITORY}/autobuild",
        status_code=204,
        summary="Stop automated builds",
        responses=problems(401, 403, 404),
    )
    def delete_autobuild(namespace: str, name: str, request: Request) -> None:
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            hub.builds.disable(s, user, hub.repos.get(s, user, namespace, name))

    @r.post(
        f"{REPOSITORY}/autobuild/trigger-token",
        summary="Make a new trigger token",
        responses=problems(401, 403, 404),
    )
    def regenerate_trigger(namespace: str, name: str, request: Request) -> AutomatedBuildInfo:
        """The old trigger URL stops working at once."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            auto = hub.builds.regenerate_token(s, user, hub.repos.get(s, user, namespace, name))
            return info(auto, True)

    @r.get(f"{REPOSITORY}/builds", summary="A repository's builds", responses=problems(401, 403, 404))
    def list_builds(namespace: str, name: str, request: Request) -> list[BuildInfo]:
        """Newest first (the last 100)."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            return [BuildInfo.of(b) for b in hub.builds.list(s, user, repo)]

    @r.post(
        f"{REPOSITORY}/builds", status_code=201, summary="Start builds", responses=problems(401, 403, 404)
    )
    def start_builds(namespace: str, name: str, body: TriggerIn, request: Request) -> list[BuildInfo]:
        """One rule (`rule_id`), the rules matching a ref (`source_type` + `source_name`), or every
        enabled rule with a fixed name."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            builds = hub.builds.trigger(
                s,
                user,
                repo,
                source_type=body.source_type,
                source_name=body.source_name,
                rule_id=body.rule_id,
            )
            return [BuildInfo.of(b) for b in builds]

    @r.get(
        f"{REPOSITORY}/builds/{{build_id}}", summary="A build with its log", responses=problems(401, 403, 404)
    )
    def get_build(
        namespace: str, name: str, build_id: int, request: Request, offset: int = Query(0, ge=0)
    ) -> BuildDetail:
        """Poll with `offset` = the previous answer's `log_size` to follow a running build's log."""
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            return BuildDetail.with_log(hub.builds.get(s, user, repo, build_id), offset)

    @r.post(
        f"{REPOSITORY}/builds/{{build_id}}/cancel",
        summary="Cancel a build",
        responses=problems(401, 403, 404),
    )
    def cancel_build(namespace: str, name: str, build_id: int, request: Request) -> BuildInfo:
        with hub.unit() as s:
            user = api_signed_in(hub, s, request)
            repo = hub.repos.get(s, user, namespace, name)
            return BuildInfo.of(hub.builds.cancel(s, user, repo, build_id))

    @r.post(
        f"{REPOSITORY}/trigger/{{token}}/",
        status_code=202,
        summary="Trigger builds (no credentials)",
        responses=problems(401),
    )
    async def remote_trigger(namespace: str, name: str, token: str, request: Request) -> dict[str, list[int]]:
        """Docker Hub's build trigger: the token in the URL is the credential. Body (optional):
        `{"source_type": "Branch", "source_name": "main", "commit": "<sha>"}`."""
        raw = await request.body()
        try:
            body = RemoteTriggerIn.model_validate(jsonsafe.loads(raw) if raw.strip() else {})
        except ValueError as exc:
            raise InvalidArgument(f"invalid trigger body: {exc}") from None

        def trigger() -> list[int]:
            with hub.unit() as s:
                repo = hub.repos.find(s, namespace, name)
                builds = hub.builds.trigger_by_token(
                    s,
                    repo,
                    token,
                    source_type=body.source_type,
                    source_name=body.source_name,
                    commit=body.commit,
                )
                return [b.id for b in builds]

        return {"builds": await run_in_threadpool(trigger)}

    @r.post(
        f"{REPOSITORY}/autobuild/push",
        status_code=202,
        summary="Push webhook (GitHub, GitLab, Gitea)",
        responses=problems(401, 404),
    )
    async def push_webhook(namespace: str, name: str, request: Request) -> dict[str, list[int]]:
        """Point a forge's push webhook here with the automated build's `webhook_secret` (GitHub and
        Gitea/Forgejo sign the body with it; GitLab sends it as its token). Builds the rules matching
        the pushed branch or tag, once per commit; other events are acknowledged and ignored."""
        raw = await request.body()  # capped by the hub's body limit (PUSH_WEBHOOK_BODY for this route)
        headers = dict(request.headers)

        def build() -> list[int]:
            with hub.unit() as s:
                auto = hub.builds.hook_target(s, namespace, name)
                event = parse_push(headers, raw, auto.webhook_secret)
                if event is None:
                    return []
                builds = hub.builds.on_push(
                    s, auto, event.source_type, event.ref, event.commit, event.message
                )
                return [b.id for b in builds]

        return {"builds": await run_in_threadpool(build)}

    return r


async def _json_body(request: Request) -> object:
    try:
        return jsonsafe.loads(await request.body())
    except ValueError:
        raise InvalidArgument("malformed JSON") from None


async def _log_piece(request: Request) -> str:
    return (await request.body())[:MAX_LOG_PIECE].decode(errors="replace")


JsonBody = Annotated[object, Depends(_json_body)]
LogPiece = Annotated[str, Depends(_log_piece)]


def _internal(hub: Hub) -> APIRouter:
    def check(request: Request) -> None:
        header = request.headers.get("authorization") or ""
        scheme, _, value = header.partition(" ")
        secret = hub.builder_secret
        if scheme.lower() != "bearer" or not secrets.compare_digest(value.strip().encode(), secret.encode()):
            raise Unauthorized("builder secret required")

    # the secret is checked first (a router dependency), before the bodies are read
    r = APIRouter(prefix="/api/builder", include_in_schema=False, dependencies=[Depends(check)])

    # plain ``def`` handlers: the bodies are read on the event loop by their dependencies, the
    # database work runs in the thread pool
    @r.post("/builds/{build_id}/claim")
    def claim(build_id: int, body: JsonBody) -> Response:
        worker = str(body.get("worker") or "?") if isinstance(body, dict) else "?"
        with hub.unit() as s:
            build, secret = hub.builder.claim(s, build_id, worker)
            return JSONResponse(buildqueue.spec(build, build.repository, secret))

    @r.post("/builds/{build_id}/status")
    def status(build_id: int, body: JsonBody) -> Response:
        if not isinstance(body, dict) or not isinstance(body.get("status"), str):
            raise InvalidArgument('expected {"status": ...}')
        with hub.unit() as s:
            cancelled = hub.builder.report(s, build_id, body["status"], body)
        return JSONResponse({"cancelled": cancelled})

    @r.post("/builds/{build_id}/log")
    def append_log(build_id: int, text: LogPiece) -> Response:
        with hub.unit() as s:
            cancelled = hub.builder.append_log(s, build_id, text)
        return JSONResponse({"cancelled": cancelled})

    return r


def router(hub: Hub) -> APIRouter:
    r = APIRouter()
    r.include_router(_api(hub))
    r.include_router(_internal(hub))
    return r


__all__ = ["router"]
