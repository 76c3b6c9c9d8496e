"""Every model, so ``Base.metadata`` is complete once this package is imported."""

from .accounts import (
    AccessToken,
    EmailToken,
    LoginThrottle,
    MailQuota,
    NameTombstone,
    Organization,
    OrganizationMember,
    User,
    WebSession,
)
from .activity import Activity
from .builds import AutomatedBuild, Build, BuildLink, BuildRule
from .generations import Generation
from .jobs import Job
from .repositories import Collaborator, Repository, RepositoryImage, Star, Tag
from .webhooks import Delivery, HookChain, Webhook

__all__ = [
    "AccessToken",
    "Activity",
    "AutomatedBuild",
    "Build",
    "BuildLink",
    "BuildRule",
    "Collaborator",
    "Delivery",
    "EmailToken",
    "Generation",
    "HookChain",
    "Job",
    "LoginThrottle",
    "MailQuota",
    "NameTombstone",
    "Organization",
    "OrganizationMember",
    "Repository",
    "RepositoryImage",
    "Star",
    "Tag",
    "User",
    "WebSession",
    "Webhook",
]
