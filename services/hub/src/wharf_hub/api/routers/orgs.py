"""``/api/v1/orgs``: organisations (shared namespaces) and their members."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ...hub import Hub
from ..deps import api_signed_in, api_user
from ..schemas.common import Input
from ..v1 import new_router, problems


class OrganizationCreate(Input):
    name: str = Field(examples=["acme"], max_length=30)


class MemberAdd(Input):
    username: str = Field(examples=["bob"], max_length=100)
    owner: bool = False


class MemberInfo(BaseModel):
    username: str
    owner: bool = Field(description="Owners manage members and change or delete repositories.")


class OrganizationInfo(BaseModel):
    name: str
    members: list[MemberInfo]


def router(hub: Hub) -> APIRouter:
    r = new_router("organizations")

    def info(s: Session, name: str) -> OrganizationInfo:
        org = hub.orgs.get(s, name)
        members = [MemberInfo(username=u.username, owner=o) for u, o in hub.orgs.members(s, org)]
        return OrganizationInfo(name=org.name, members=members)

    @r.post("/orgs", status_code=201, summary="Create an organization", responses=problems(401, 409))
    def create_org(body: OrganizationCreate, request: Request) -> OrganizationInfo:
        """The caller becomes its first owner; its name is a namespace like a username."""
        with hub.unit() as s:
            org = hub.orgs.create(s, api_signed_in(hub, s, request), body.name)
            return info(s, org.name)

    @r.get("/orgs/{org}", summary="An organization and its members", responses=problems(401, 403, 404))
    def get_org(org: str, request: Request) -> OrganizationInfo:
        """Public; a credential that is given must be valid and allow reading, as everywhere."""
        with hub.unit() as s:
            api_user(hub, s, request)
            return info(s, org)

    @r.put(
        "/orgs/{org}/members", summary="Add a member (or change its role)", responses=problems(401, 403, 404)
    )
    def add_member(org: str, body: MemberAdd, request: Request) -> OrganizationInfo:
        with hub.unit() as s:
            found = hub.orgs.get(s, org)
            hub.orgs.add_member(s, api_signed_in(hub, s, request), found, body.username, owner=body.owner)
            s.flush()
            return info(s, org)

    @r.delete(
        "/orgs/{org}/members/{username}",
        status_code=204,
        summary="Remove a member",
        responses=problems(401, 403, 404),
    )
    def remove_member(org: str, username: str, request: Request) -> None:
        with hub.unit() as s:
            found = hub.orgs.get(s, org)
            hub.orgs.remove_member(s, api_signed_in(hub, s, request), found, username)

    return r


__all__ = ["router"]
