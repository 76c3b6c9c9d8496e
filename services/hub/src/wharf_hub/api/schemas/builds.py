"""Automated-build settings, builds and their logs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ...db.models import AutomatedBuild, Build, BuildRule
from .common import Input


class RuleIn(Input):
    source_type: Literal["branch", "tag"] = "branch"
    source_name: str = Field(
        "main",
        description="A branch or tag name, or a regular expression between slashes (`/^v[0-9.]+$/`).",
        max_length=255,
    )
    dockerfile: str = Field("Dockerfile", description="Relative to the build context.", max_length=255)
    context: str = Field("/", description="A directory of the repository.", max_length=255)
    tag_template: str = Field(
        "latest", description="The image tag; `{sourceref}` is the branch or tag name.", max_length=128
    )
    build_args: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True


class AutomatedBuildIn(Input):
    source_url: str = Field(
        description="A git URL (https://, ssh://, git://, user@host:path) or the absolute path of a bare "
        "repository on the hub's builders.",
        examples=["https://git.example.com/alice/web.git"],
        max_length=500,
    )
    autobuild: bool = Field(True, description="Build when a push webhook arrives.")
    rules: list[RuleIn] = Field(min_length=1, max_length=20)
    links: list[str] = Field(
        default_factory=list,
        description="Repositories (`busybox`, `alice/base`) whose pushes rebuild this one (no loops).",
        max_length=20,
    )


class RuleInfo(BaseModel):
    id: int
    source_type: str
    source_name: str
    dockerfile: str
    context: str
    tag_template: str
    build_args: dict[str, str]
    enabled: bool

    @classmethod
    def of(cls, rule: BuildRule) -> RuleInfo:
        return cls(
            id=rule.id,
            source_type=rule.source_type,
            source_name=rule.source_name,
            dockerfile=rule.dockerfile,
            context=rule.context,
            tag_template=rule.tag_template,
            build_args=dict(rule.build_args),
            enabled=rule.enabled,
        )


class AutomatedBuildInfo(BaseModel):
    source_url: str
    autobuild: bool
    rules: list[RuleInfo]
    links: list[str]
    trigger_url: str | None = Field(description="Shown to owners only: POST to it to start builds.")
    webhook_url: str
    webhook_secret: str | None = Field(description="Shown to owners only: the push webhook's secret.")

    @classmethod
    def of(cls, auto: AutomatedBuild, base: str, *, owner: bool) -> AutomatedBuildInfo:
        repo = auto.repository
        path = f"{base}/api/v1/repositories/{repo.namespace}/{repo.name}"
        return cls(
            source_url=auto.source_url,
            autobuild=auto.autobuild,
            rules=[RuleInfo.of(rule) for rule in auto.rules],
            links=[link.repository.full_name for link in auto.links],
            trigger_url=f"{path}/trigger/{auto.trigger_token}/" if owner else None,
            webhook_url=f"{path}/autobuild/push",
            webhook_secret=auto.webhook_secret if owner else None,
        )


class TriggerIn(Input):
    source_type: str | None = Field(None, description="`Branch` or `Tag` (any case).")
    source_name: str | None = Field(None, max_length=255)
    rule_id: int | None = None


class RemoteTriggerIn(BaseModel):
    """Docker Hub's remote build trigger body; every field optional."""

    source_type: str | None = None
    source_name: str | None = None
    commit: str | None = Field(None, description="The commit to build (git hooks send it; once per commit).")


class BuildInfo(BaseModel):
    id: int
    status: str
    trigger: str
    source_type: str
    source_ref: str
    commit_sha: str | None
    commit_message: str
    dockerfile: str
    context: str
    tags: list[str]
    image_id: str | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration: float | None

    @classmethod
    def of(cls, build: Build) -> BuildInfo:
        return cls(
            id=build.id,
            status=build.status,
            trigger=build.trigger,
            source_type=build.source_type,
            source_ref=build.source_ref,
            commit_sha=build.commit_sha,
            commit_message=build.commit_message,
            dockerfile=build.dockerfile,
            context=build.context,
            tags=list(build.tags),
            image_id=build.image_id,
            error=build.error,
            created_at=build.created_at,
            started_at=build.started_at,
            finished_at=build.finished_at,
            duration=build.duration,
        )


class BuildDetail(BuildInfo):
    log: str = Field(description="The log from `offset` on (the whole log by default).")
    log_size: int = Field(description="Characters in the whole log: the next `offset` to poll with.")

    @classmethod
    def with_log(cls, build: Build, offset: int = 0) -> BuildDetail:
        info = BuildInfo.of(build)
        return cls(**info.model_dump(), log=build.log[offset:], log_size=len(build.log))
