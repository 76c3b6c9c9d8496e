"""Automated builds, the owner's side: source and rules, triggers, the build list, cancel.

A build is a row first (status ``queued``); a job queued in the same transaction hands its id to
the builder's queue after commit (see :mod:`.buildqueue`), so a build never starts for a request
that rolled back, and a broker that is down only delays it (the job retries with backoff).

Who may do what: owners and organisation owners change the settings and the trigger token;
whoever may push (collaborators, organisation members) sees builds and their logs and may start
or cancel one.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session
from wharf_common.errors import InvalidArgument, NotFound, Unauthorized

from ..db.base import utcnow
from ..db.models import AutomatedBuild, Build, BuildLink, BuildRule, Repository, Tag, User
from ..db.models.builds import is_pattern
from .access import can_admin, can_pull, can_push
from .errors import AccessDenied
from .jobs import enqueue
from .names import TAG_RE, split_repository

log = structlog.get_logger(__name__)

ENQUEUE = "build.enqueue"
INTERRUPT = "build.interrupt"
SOURCE_TYPES = ("branch", "tag")
MAX_RULES = 20
SOURCE_RE = re.compile(r"(https?|ssh|git)://[^\s]+|[\w.-]+@[\w.-]+:[^\s]+|/[^\s]*")


class InvalidBuildSettings(InvalidArgument):
    pass


class NoSuchBuild(NotFound):
    def __init__(self, build_id: int) -> None:
        super().__init__(f"No such build: {build_id}")


class NoSuchAutomatedBuild(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"No automated build for {name}")


class WrongTriggerToken(Unauthorized):
    def __init__(self) -> None:
        super().__init__("invalid trigger token")


@dataclass(frozen=True, slots=True)
class RuleSpec:
    source_type: str = "branch"
    source_name: str = "main"
    dockerfile: str = "Dockerfile"
    context: str = "/"
    tag_template: str = "latest"
    build_args: dict[str, str] = field(default_factory=dict)
    enabled: bool = True


def rule_pattern(source_name: str) -> re.Pattern[str] | None:
    """``/regex/`` rules as compiled patterns; plain names give None."""
    if is_pattern(source_name):
        return re.compile(source_name[1:-1])
    return None


def rule_matches(rule: BuildRule, source_type: str, ref: str) -> bool:
    if not rule.enabled or rule.source_type != source_type:
        return False
    pattern = rule_pattern(rule.source_name)
    return bool(pattern.fullmatch(ref)) if pattern is not None else rule.source_name == ref


def image_tag(rule: BuildRule, ref: str) -> str:
    """The rule's tag template with ``{sourceref}`` filled in (``/`` in a ref becomes ``-``)."""
    return rule.tag_template.replace("{sourceref}", ref.replace("/", "-"))


def _check_rule(spec: RuleSpec) -> None:
    if spec.source_type not in SOURCE_TYPES:
        raise InvalidBuildSettings(f"source_type must be one of {', '.join(SOURCE_TYPES)}")
    if not spec.source_name or len(spec.source_name) > 255:
        raise InvalidBuildSettings("source_name is required (a name, or /regex/)")
    try:
        rule_pattern(spec.source_name)
    except re.error as exc:
        message = f"source_name {spec.source_name!r} is not a valid regular expression: {exc}"
        raise InvalidBuildSettings(message) from None
    if not TAG_RE.fullmatch(spec.tag_template.replace("{sourceref}", "x")):
        raise InvalidBuildSettings(f"tag template {spec.tag_template!r} does not make a valid tag")
    for what, value in (("dockerfile", spec.dockerfile), ("context", spec.context)):
        if not value or ".." in value.split("/") or len(value) > 255 or "\0" in value:
            raise InvalidBuildSettings(f"{what} {value!r} must be a path inside the repository")


def check_source(url: str) -> str:
    url = url.strip()
    if not SOURCE_RE.fullmatch(url) or url.startswith("-") or len(url) > 500:
        raise InvalidBuildSettings(
            "source_url must be a git URL (https://, ssh://, git://, user@host:path) or an absolute path"
        )
    return url


def _depends_on(s: Session, repository_id: int) -> set[int]:
    """The repositories whose pushes (transitively) rebuild ``repository_id``."""
    seen: set[int] = set()
    todo = [repository_id]
    while todo:
        current = todo.pop()
        linked = s.scalars(
            select(BuildLink.repository_id)
            .join(AutomatedBuild, AutomatedBuild.id == BuildLink.automated_build_id)
            .where(AutomatedBuild.repository_id == current)
        )
        for found in linked:
            if found not in seen:
                seen.add(found)
                todo.append(found)
    return seen


class BuildService:
    # ---- settings (owners) ----------------------------------------------------------------------

    def automation(self, s: Session, user: User | None, repo: Repository) -> AutomatedBuild | None:
        if not can_push(s, user, repo):
            raise AccessDenied()
        return s.scalar(select(AutomatedBuild).where(AutomatedBuild.repository_id == repo.id))

    def configure(
        self,
        s: Session,
        user: User | None,
        repo: Repository,
        source_url: str,
        autobuild: bool,
        rules: list[RuleSpec],
        links: Sequence[str] = (),
    ) -> AutomatedBuild:
        """Creates or replaces the automated build; the repository becomes "automated". ``links``
        name repositories (a base image) whose pushes rebuild it; a link that would loop is refused."""
        if not can_admin(s, user, repo):
            raise AccessDenied()
        if not rules or len(rules) > MAX_RULES:
            raise InvalidBuildSettings(f"give between 1 and {MAX_RULES} build rules")
        for spec in rules:
            _check_rule(spec)
        auto = s.scalar(select(AutomatedBuild).where(AutomatedBuild.repository_id == repo.id))
        if auto is None:
            auto = AutomatedBuild(
                repository_id=repo.id,
                trigger_token=secrets.token_urlsafe(32),
                webhook_secret=secrets.token_urlsafe(32),
            )
            s.add(auto)
        auto.source_url = check_source(source_url)
        auto.autobuild = autobuild
        auto.rules = [
            BuildRule(
                position=i,
                source_type=spec.source_type,
                source_name=spec.source_name,
                dockerfile=spec.dockerfile,
                context=spec.context,
                tag_template=spec.tag_template,
                build_args=dict(spec.build_args),
                enabled=spec.enabled,
            )
            for i, spec in enumerate(rules)
        ]
        auto.links = [BuildLink(repository_id=linked.id) for linked in self._links(s, user, repo, links)]
        repo.is_automated = True
        s.flush()
        log.info("builds.configured", repository=repo.remote, rules=len(rules), links=len(auto.links))
        return auto

    @staticmethod
    def _links(s: Session, user: User | None, repo: Repository, names: Sequence[str]) -> list[Repository]:
        linked: dict[int, Repository] = {}
        for name in names:
            namespace, short = split_repository(name.strip())
            target = s.scalar(
                select(Repository).where(Repository.namespace == namespace, Repository.name == short)
            )
            if target is None or not can_pull(s, user, target):
                raise InvalidBuildSettings(f"cannot link {name!r}: no such repository")
            if target.id == repo.id or repo.id in _depends_on(s, target.id):
                raise InvalidBuildSettings(f"linking {target.full_name} would make a loop of builds")
            linked[target.id] = target
        return list(linked.values())

    def on_base_pushed(
        self, s: Session, base: Repository, _pusher: User | None, tag: str, _images: list[str]
    ) -> None:
        """A push listener: every automated build linking ``base`` builds its fixed-name rules,
        once per pushed image of a tag."""
        image_id = s.scalar(select(Tag.image_id).where(Tag.repository_id == base.id, Tag.name == tag)) or ""
        linking = s.scalars(
            select(AutomatedBuild).join(BuildLink).where(BuildLink.repository_id == base.id)
        ).all()
        for auto in linking:
            key = f"link:{base.id}:{tag}:{image_id}"
            self._start(
                s, auto, "link", None, None, link_key=key, message=f"{base.full_name}:{tag} was pushed"
            )

    def disable(self, s: Session, user: User | None, repo: Repository) -> None:
        if not can_admin(s, user, repo):
            raise AccessDenied()
        auto = s.scalar(select(AutomatedBuild).where(AutomatedBuild.repository_id == repo.id))
        if auto is not None:
            s.delete(auto)
        repo.is_automated = False

    def regenerate_token(self, s: Session, user: User | None, repo: Repository) -> AutomatedBuild:
        auto = self._require(s, repo)
        if not can_admin(s, user, repo):
            raise AccessDenied()
        auto.trigger_token = secrets.token_urlsafe(32)
        return auto

    # ---- triggers -------------------------------------------------------------------------------

    def trigger(
        self,
        s: Session,
        user: User | None,
        repo: Repository,
        *,
        source_type: str | None = None,
        source_name: str | None = None,
        rule_id: int | None = None,
    ) -> list[Build]:
        """The button (or the API): one rule, the rules matching a ref, or every fixed-name rule."""
        if not can_push(s, user, repo):
            raise AccessDenied()
        auto = self._require(s, repo)
        return self._start(s, auto, "button", source_type, source_name, rule_id=rule_id)

    def trigger_by_token(
        self,
        s: Session,
        repo: Repository | None,
        token: str,
        *,
        source_type: str | None = None,
        source_name: str | None = None,
        commit: str | None = None,
    ) -> list[Build]:
        """Docker Hub's build trigger URL: the token is the credential."""
        auto = (
            s.scalar(select(AutomatedBuild).where(AutomatedBuild.repository_id == repo.id))
            if repo is not None
            else None
        )
        if auto is None or not secrets.compare_digest(auto.trigger_token.encode(), token.encode()):
            raise WrongTriggerToken()
        return self._start(s, auto, "trigger", source_type, source_name, commit=commit)

    def hook_target(self, s: Session, namespace: str, name: str) -> AutomatedBuild:
        """The automated build a push webhook addresses (the hook's secret is checked next)."""
        auto = s.scalar(
            select(AutomatedBuild)
            .join(Repository, Repository.id == AutomatedBuild.repository_id)
            .where(Repository.namespace == namespace, Repository.name == name)
        )
        if auto is None:
            raise NoSuchAutomatedBuild(f"{namespace}/{name}")
        return auto

    def on_push(
        self, s: Session, auto: AutomatedBuild, source_type: str, ref: str, commit: str, message: str = ""
    ) -> list[Build]:
        """A push webhook: the rules matching the pushed ref, once per commit and rule."""
        if not auto.autobuild:
            return []
        return self._start(s, auto, "webhook", source_type, ref, commit=commit, message=message)

    def _start(
        self,
        s: Session,
        auto: AutomatedBuild,
        trigger: str,
        source_type: str | None,
        source_name: str | None,
        *,
        rule_id: int | None = None,
        commit: str | None = None,
        message: str = "",
        link_key: str | None = None,
    ) -> list[Build]:
        if source_type is not None:
            source_type = source_type.lower()
            if source_type not in SOURCE_TYPES or not source_name:
                raise InvalidBuildSettings("give source_type (Branch or Tag) with source_name")
        if commit is not None and not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
            raise InvalidBuildSettings("commit must be a full hexadecimal commit id")
        wanted: list[tuple[BuildRule, str]] = []
        for rule in auto.rules:
            if rule_id is not None:
                if rule.id == rule_id:
                    wanted.append((rule, source_name or rule.source_name))
            elif source_type is not None and source_name is not None:
                if rule_matches(rule, source_type, source_name):
                    wanted.append((rule, source_name))
            elif rule.enabled and not rule.is_pattern:
                wanted.append((rule, rule.source_name))
        if rule_id is not None and not wanted:
            raise InvalidBuildSettings(f"no build rule {rule_id}")
        builds = []
        for rule, ref in wanted:
            if is_pattern(ref):
                raise InvalidBuildSettings(f"rule {rule.id} matches refs by pattern: give source_name")
            tag = image_tag(rule, ref)
            if not TAG_RE.fullmatch(tag):
                raise InvalidBuildSettings(f"ref {ref!r} makes the invalid tag {tag!r}")
            key = f"{auto.repository_id}:{rule.id}:{commit or link_key}" if commit or link_key else None
            if key is not None and s.scalar(select(Build.id).where(Build.dedupe_key == key)) is not None:
                continue  # a redelivered push
            build = Build(
                repository_id=auto.repository_id,
                rule_id=rule.id,
                trigger=trigger,
                source_url=auto.source_url,
                source_type=rule.source_type,
                source_ref=ref,
                commit_sha=commit,
                commit_message=message,
                dockerfile=rule.dockerfile,
                context=rule.context,
                tags=[tag],
                build_args=dict(rule.build_args),
                dedupe_key=key,
            )
            s.add(build)
            s.flush()
            enqueue(s, ENQUEUE, {"build_id": build.id})
            builds.append(build)
        log.info("builds.queued", repository_id=auto.repository_id, trigger=trigger, count=len(builds))
        return builds

    # ---- reading and cancelling -------------------------------------------------------------------

    def list(self, s: Session, user: User | None, repo: Repository, limit: int = 100) -> list[Build]:
        if not can_push(s, user, repo):
            raise AccessDenied()
        return list(
            s.scalars(
                select(Build).where(Build.repository_id == repo.id).order_by(Build.id.desc()).limit(limit)
            )
        )

    def get(self, s: Session, user: User | None, repo: Repository, build_id: int) -> Build:
        if not can_push(s, user, repo):
            raise AccessDenied()
        build = s.get(Build, build_id)
        if build is None or build.repository_id != repo.id:
            raise NoSuchBuild(build_id)
        return build

    def cancel(self, s: Session, user: User | None, repo: Repository, build_id: int) -> Build:
        """A queued build ends at once; a running one when its worker next reports."""
        build = self.get(s, user, repo, build_id)
        if build.is_final:
            return build
        build.cancel_requested = True
        if build.status == "queued":
            build.status, build.finished_at, build.error = "cancelled", utcnow(), "cancelled"
        else:
            enqueue(s, INTERRUPT, {"build_id": build.id})  # its worker stops it, even mid-step
        return build

    @staticmethod
    def latest_dockerfile(s: Session, repo: Repository) -> str:
        """The Dockerfile of the repository's last successful build ("" when there is none)."""
        if not repo.is_automated:
            return ""
        text = s.scalar(
            select(Build.dockerfile_text)
            .where(Build.repository_id == repo.id, Build.status == "success")
            .order_by(Build.id.desc())
            .limit(1)
        )
        return text or ""

    @staticmethod
    def _require(s: Session, repo: Repository) -> AutomatedBuild:
        auto = s.scalar(select(AutomatedBuild).where(AutomatedBuild.repository_id == repo.id))
        if auto is None:
            raise InvalidBuildSettings(f"{repo.remote} has no automated build")
        return auto


__all__ = [
    "ENQUEUE",
    "BuildService",
    "InvalidBuildSettings",
    "NoSuchBuild",
    "RuleSpec",
    "WrongTriggerToken",
    "check_source",
    "image_tag",
    "rule_matches",
]
