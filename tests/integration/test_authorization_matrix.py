"""Who may do what, for every route of the hub (JSON API, v1 index, web pages that change state)
and of the registry, from one table: ``ROUTES`` by ``ROLES`` by {public, private}.

Each route names the access it needs (on a repository, on the role's namespace where it would
create one, or on an organisation) and the status it answers when allowed; the other cells
follow from the rules of ``wharf_hub.services.access``:

* anonymous is asked to log in (401; a web page redirects to ``/login``) wherever a route needs
  a signed-in user, which it says before it looks at the repository, so that answer is the
  same whether the repository exists or not;
* a private repository is ``hidden`` (404, as a missing one) to whoever may not read it,
  anonymous or signed in;
* a reader who may not do more gets 403;
* on the registry the credential is the token the hub hands that role for that repository
  (the access the route needs, else a read token, else none): no token 401, a token that
  does not cover the route 403;
* over v2 the credential is the bearer token the hub's ``/v2/token`` hands that role for the
  scope the route needs (the actions it may take, maybe none): 401 with ``insufficient_scope``
  unless the token covers the route, as the Go registry answers.

Real processes: a hub and a registry in index mode, with the hub's real tokens. Routes that
change the repository (``fresh``) get a repository of their own in every cell. A role is a
row of ``ROLES`` (its credentials and its access level), so a personal access token with a
scope is one more row.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hubstack import Stack, hub_stack
from v1flows import push
from wharf_registry.testing import image_json, random_image_id

PASSWORD = "matrix-pass-42"
FAST_PASSWORDS = {"WHARF_HUB_PASSWORDS__TIME_COST": "1", "WHARF_HUB_PASSWORDS__MEMORY_COST": "8192"}
NONE, READ, WRITE, ADMIN = 0, 1, 2, 3
VISIBILITIES = ("public", "private")
HOOK_URL = "http://127.0.0.1:9/hook"


@dataclass(frozen=True)
class Role:
    user: str | None  # None: anonymous
    namespace: str  # the namespace of the repositories it is tested on
    public: int  # its access level on a public repository there
    private: int  # and on a private one
    space: int  # on the namespace itself (WRITE: creates repositories there)
    org: int  # on an organisation (READ: sees it, ADMIN: manages its members)
    scopes: frozenset[str] | None = None  # a personal access token's scopes; None: the password


# role                   user      namespace  public  private  space  org
ROLES = {
    "anonymous": Role(None, "olivia", READ, NONE, READ, READ),
    "stranger": Role("oscar", "olivia", READ, NONE, READ, READ),
    "collaborator": Role("colin", "olivia", WRITE, WRITE, READ, READ),
    "org_member": Role("mark", "acme", WRITE, WRITE, WRITE, WRITE),
    "org_owner": Role("otto", "acme", ADMIN, ADMIN, ADMIN, ADMIN),
    "repo_owner": Role("olivia", "olivia", ADMIN, ADMIN, ADMIN, READ),
    "site_admin": Role("siteadmin", "olivia", ADMIN, ADMIN, ADMIN, ADMIN),
    # the repository owner's personal access tokens: what a scope allows on top of the owner's
    # rights, and nothing on web pages (the web login refuses tokens)
    "pat_read": Role("olivia", "olivia", ADMIN, ADMIN, ADMIN, READ, frozenset({"read"})),
    "pat_write": Role("olivia", "olivia", ADMIN, ADMIN, ADMIN, READ, frozenset({"read", "write"})),
    "pat_delete": Role("olivia", "olivia", ADMIN, ADMIN, ADMIN, READ, frozenset({"read", "delete"})),
    "pat_admin": Role("olivia", "olivia", ADMIN, ADMIN, ADMIN, READ, frozenset({"admin"})),
}
TOKENS: dict[str, str] = {}
"""Role name → the secret of its access token (made when the stack starts)."""
OWNERS = {"olivia": "olivia", "acme": "otto"}


@dataclass(frozen=True)
class Route:
    surface: str  # "api", "v1" (the hub's index), "web", "registry" (v1), "v2" (the registry's v2)
    method: str
    path: str  # {repo}, {name}, {image}, {new_image}, {webhook}, {visibility} are filled in
    needs: int
    ok: int  # the status when allowed
    login: bool = True  # anonymous must sign in first (reads of repositories need not)
    hidden: int = 404  # the answer for who may not read the repository
    body: Any = None  # JSON (api, v1, registry) or form fields (web)
    fresh: bool = False  # it changes the repository (or organisation): a new one per cell
    headers: dict[str, str] = field(default_factory=dict)
    scope: str = "repo"  # or "space" (the role's namespace: {namespace}, {new}), "org" ({org})

    @property
    def access(self) -> str:  # the registry token it needs
        return {READ: "read", WRITE: "write", ADMIN: "delete"}[self.needs]

    def __str__(self) -> str:
        return f"{self.surface} {self.method} {self.path}"


TOKEN = {"X-Docker-Token": "true"}
R = "/api/v1/repositories/{repo}"
U = "/u/{repo}"
S = "/u/{repo}/settings"
HOOK = {"name": "ci", "url": HOOK_URL}  # every repository has one
NEW_HOOK = {"name": "deploy", "url": HOOK_URL}
NEW_REPO = {"namespace": "{namespace}", "name": "{new}", "is_private": "{is_private}"}
NEW_REPO_FORM = {"namespace": "{namespace}", "name": "{new}", "visibility": "{visibility}"}

# surface     method    path                                    needs  ok   (other rules: see Route)
ROUTES = [
    Route("api", "GET", R, READ, 200, login=False),
    Route("api", "GET", R + "/tags", READ, 200, login=False),
    Route("api", "PATCH", R, ADMIN, 200, body={"description": "changed"}),
    Route("api", "DELETE", R, ADMIN, 204, fresh=True),
    Route("api", "PUT", R + "/star", READ, 200),
    Route("api", "DELETE", R + "/star", READ, 200),
    Route("api", "GET", R + "/collaborators", ADMIN, 200),
    Route("api", "POST", R + "/collaborators", ADMIN, 201, body={"username": "oscar"}, fresh=True),
    Route("api", "DELETE", R + "/collaborators/colin", ADMIN, 204, fresh=True),
    Route("api", "GET", R + "/webhooks", ADMIN, 200),
    Route("api", "POST", R + "/webhooks", ADMIN, 201, body=NEW_HOOK, fresh=True),
    Route("api", "DELETE", R + "/webhooks/{webhook}", ADMIN, 204, fresh=True),
    Route("api", "GET", R + "/webhooks/{webhook}/deliveries", ADMIN, 200),
    Route("api", "POST", R + "/webhooks/{webhook}/test", ADMIN, 202),
    Route("api", "GET", R + "/webhooks/chains", ADMIN, 200),
    Route("v1", "GET", "/v1/repositories/{repo}/images", READ, 200, login=False, headers=TOKEN),
    # a push to a repository one may not read answers as a push to a missing one of another
    # namespace does (which it may not create): 403
    Route("v1", "PUT", "/v1/repositories/{repo}/", WRITE, 200, hidden=403, body=[], headers=TOKEN),
    Route("v1", "PUT", "/v1/repositories/{repo}/images", WRITE, 204, body=[]),
    Route("v1", "DELETE", "/v1/repositories/{repo}/", ADMIN, 202, headers=TOKEN),
    Route("v1", "DELETE", "/v1/repositories/{repo}/", ADMIN, 200, fresh=True),
    Route("web", "GET", U + "/", READ, 200, login=False),
    Route("web", "GET", U + "/tags/", READ, 200, login=False),
    Route("web", "POST", U + "/star", READ, 303),
    Route("web", "POST", U + "/unstar", READ, 303),
    Route("web", "GET", S + "/", ADMIN, 200),
    Route("web", "POST", S + "/", ADMIN, 303, body={"description": "x", "visibility": "{visibility}"}),
    Route("web", "POST", S + "/delete", ADMIN, 303, body={"confirm": "{name}"}, fresh=True),
    Route("web", "GET", S + "/collaborators/", ADMIN, 200),
    Route("web", "POST", S + "/collaborators/", ADMIN, 303, body={"username": "oscar"}, fresh=True),
    Route("web", "POST", S + "/collaborators/remove", ADMIN, 303, body={"username": "colin"}, fresh=True),
    Route("web", "GET", S + "/webhooks/", ADMIN, 200),
    Route(
        "web", "POST", S + "/webhooks/", ADMIN, 201, body={"hook_name": "deploy", "url": HOOK_URL}, fresh=True
    ),
    Route("web", "GET", S + "/webhooks/{webhook}/", ADMIN, 200),
    Route("web", "POST", S + "/webhooks/{webhook}/test", ADMIN, 303),
    Route("web", "POST", S + "/webhooks/{webhook}/delete", ADMIN, 303, fresh=True),
    Route("api", "GET", "/api/v1/repositories/{namespace}", READ, 200, login=False, scope="space"),
    Route("api", "POST", "/api/v1/repositories", WRITE, 201, body=NEW_REPO, scope="space"),
    Route(
        "v1", "PUT", "/v1/repositories/{namespace}/{new}/", WRITE, 200, body=[], headers=TOKEN, scope="space"
    ),
    Route("web", "POST", "/new", WRITE, 303, body=NEW_REPO_FORM, scope="space"),
    Route("api", "GET", "/api/v1/orgs/{org}", READ, 200, login=False, scope="org"),
    Route(
        "api",
        "PUT",
        "/api/v1/orgs/{org}/members",
        ADMIN,
        200,
        body={"username": "oscar"},
        fresh=True,
        scope="org",
    ),
    Route("api", "DELETE", "/api/v1/orgs/{org}/members/mark", ADMIN, 204, fresh=True, scope="org"),
    Route("registry", "GET", "/v1/repositories/{repo}/tags", READ, 200),
    Route("registry", "GET", "/v1/repositories/{repo}/tags/latest", READ, 200),
    Route("registry", "GET", "/v1/images/{image}/json", READ, 200),
    Route("registry", "GET", "/v1/images/{image}/ancestry", READ, 200),
    Route("registry", "GET", "/v1/images/{image}/layer", READ, 200),
    Route("registry", "PUT", "/v1/repositories/{repo}/tags/extra", WRITE, 200, body="{image}"),
    Route("registry", "PUT", "/v1/images/{new_image}/json", WRITE, 200, body="{new_image_json}"),
    Route("registry", "DELETE", "/v1/repositories/{repo}/tags/latest", ADMIN, 200, fresh=True),
    Route("registry", "DELETE", "/v1/repositories/{repo}/", ADMIN, 200, fresh=True),
    Route("v2", "GET", "/v2/{repo}/tags/list", READ, 200),
    Route("v2", "POST", "/v2/{repo}/blobs/uploads/", WRITE, 202),
    Route("v2", "DELETE", "/v2/{repo}/manifests/sha256:" + "0" * 64, ADMIN, 404),  # allowed: no such one
]
V2_ACTIONS = {READ: "pull", WRITE: "pull,push", ADMIN: "delete"}
LOGIN = {"api": 401, "v1": 401, "web": 303}


def scope_needed(route: Route) -> str:
    """What a token needs: the registry token's access, else by method (as the hub decides)."""
    if route.surface == "registry":
        return route.access
    return {"GET": "read", "DELETE": "delete"}.get(route.method, "write")


def expected(route: Route, role: Role, visibility: str) -> int:
    level = {"space": role.space, "org": role.org}.get(route.scope, getattr(role, visibility))
    if route.surface == "v2":  # the hub grants what the role may, the registry wants all of it
        scoped = role.scopes is None or route.access in role.scopes
        return route.ok if level >= route.needs and scoped else 401
    if role.scopes is not None:
        if route.surface == "web":
            return expected(route, ROLES["anonymous"], visibility)
        need = scope_needed(route)
        if route.surface == "registry":  # the hub hands the token asked for, else a read token
            granted = need if need in role.scopes else "read" if "read" in role.scopes else None
            if granted is None:
                return 401
            return route.ok if granted == need and level >= route.needs else 403
        if need not in role.scopes:
            return 403
    if route.surface == "registry":
        return route.ok if level >= route.needs else 403 if level >= READ else 401
    if role.user is None and route.login:
        return LOGIN[route.surface]
    if level == NONE:
        return route.hidden
    return route.ok if level >= route.needs else 403


# ---- the stack and its repositories -------------------------------------------------------------


@dataclass
class Repo:
    remote: str  # "olivia/shared-public"
    image: str
    webhook: int


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    users = {r.user: PASSWORD for r in ROLES.values() if r.user is not None and r.user != "siteadmin"}
    with hub_stack("wharf-matrix-", users, env=FAST_PASSWORDS, bearer=True) as built:
        built.hub.create_user("siteadmin", PASSWORD, admin=True)
        make_org(built, "acme")
        for name, role in ROLES.items():
            if role.scopes is not None and role.user is not None:
                body = {"name": name, "scopes": sorted(role.scopes)}
                made = client(built, role.user).post("/api/v1/user/tokens", json=body)
                assert made.status_code == 201, made.text
                TOKENS[name] = made.json()["token"]
        try:
            yield built
        finally:
            for open_client in CLIENTS.values():
                open_client.close()
            CLIENTS.clear()


CLIENTS: dict[tuple[str, str | None, str], httpx.Client] = {}
"""One keep-alive connection per (service, user, password or token) for the whole module."""


def client(stack: Stack, user: str | None, base: str | None = None, secret: str = PASSWORD) -> httpx.Client:
    key = (base or stack.hub.url, user, secret)
    if key not in CLIENTS:
        auth = None if user is None else httpx.BasicAuth(user, secret)
        CLIENTS[key] = httpx.Client(base_url=key[0], auth=auth, timeout=60)
    return CLIENTS[key]


def role_client(stack: Stack, role_name: str) -> httpx.Client:
    role = ROLES[role_name]
    return client(stack, role.user, secret=TOKENS.get(role_name, PASSWORD))


def make_repo(stack: Stack, namespace: str, name: str, visibility: str, *, pushed: bool = True) -> Repo:
    """Created by the namespace's owner, with colin as collaborator, a webhook and (``pushed``)
    a tag on the registry."""
    owner = OWNERS[namespace]
    http = client(stack, owner)
    body = {"namespace": namespace, "name": name, "is_private": visibility == "private"}
    created = http.post("/api/v1/repositories", json=body)
    assert created.status_code == 201, created.text
    added = http.post(f"/api/v1/repositories/{namespace}/{name}/collaborators", json={"username": "colin"})
    assert added.status_code == 201, added.text
    hook = http.post(f"/api/v1/repositories/{namespace}/{name}/webhooks", json=HOOK)
    assert hook.status_code == 201, hook.text
    image = push(stack, f"{namespace}/{name}", owner, PASSWORD) if pushed else ""
    return Repo(f"{namespace}/{name}", image, int(hook.json()["id"]))


def make_org(stack: Stack, name: str) -> str:
    """Owned by otto, with mark as a member."""
    otto = client(stack, "otto")
    assert otto.post("/api/v1/orgs", json={"name": name}).status_code == 201
    added = otto.put(f"/api/v1/orgs/{name}/members", json={"username": "mark"})
    assert added.status_code == 200, added.text
    return name


@pytest.fixture(scope="module")
def shared(stack: Stack) -> dict[tuple[str, str], Repo]:
    return {(ns, vis): make_repo(stack, ns, f"shared-{vis}", vis) for ns in OWNERS for vis in VISIBILITIES}


@pytest.fixture(scope="module")
def browsers(stack: Stack) -> Iterator[dict[str, tuple[httpx.Client, str]]]:
    """A signed-in browser (or an anonymous one) per role, and its CSRF token."""
    made: dict[str, tuple[httpx.Client, str]] = {}
    try:
        for name, role in ROLES.items():
            browser = httpx.Client(base_url=stack.hub.url, timeout=60)
            made[name] = (browser, "")
            page = browser.get("/login")
            token = csrf_token(page.text)
            if role.user is not None and role.scopes is not None:  # a token: the login refuses it
                form = {"csrf_token": token, "username": role.user, "password": TOKENS[name]}
                assert browser.post("/login", data=form).status_code != 303
            elif role.user is not None:
                form = {"csrf_token": token, "username": role.user, "password": PASSWORD}
                assert browser.post("/login", data=form).status_code == 303
                token = csrf_token(browser.get("/account").text)
            made[name] = (browser, token)
        yield made
    finally:
        for browser, _ in made.values():
            browser.close()


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html[:300]
    return found.group(1)


FRESH = itertools.count(1)


# ---- one cell -----------------------------------------------------------------------------------


def registry_credentials(stack: Stack, role_name: str, repo: str, access: str) -> dict[str, str]:
    """The token the hub hands ``role`` for ``access`` to ``repo``, else a read token, else none."""
    http = role_client(stack, role_name)
    asks = {
        "delete": lambda: http.delete(f"/v1/repositories/{repo}/", headers=TOKEN),
        "write": lambda: http.put(f"/v1/repositories/{repo}/", json=[], headers=TOKEN),
        "read": lambda: http.get(f"/v1/repositories/{repo}/images", headers=TOKEN),
    }
    for kind in (access, "read"):
        answer = asks[kind]()
        if answer.status_code in (200, 202) and answer.headers.get("x-docker-token"):
            return {"Authorization": "Token " + answer.headers["x-docker-token"]}
    return {}


def bearer_credentials(stack: Stack, role_name: str, repo: str, needs: int) -> dict[str, str]:
    """The bearer token the hub's ``/v2/token`` hands ``role`` for the scope a v2 route needs."""
    scope = f"repository:{repo}:{V2_ACTIONS[needs]}"
    answer = role_client(stack, role_name).get(
        "/v2/token", params={"service": "wharf-registry", "scope": scope}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def fill(value: Any, values: dict[str, str]) -> Any:
    if value == "{is_private}":
        return values["visibility"] == "private"
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value


CELLS = [
    pytest.param(route, role, visibility, id=f"{route}-{role}-{visibility}")
    for route in ROUTES
    for role in ROLES
    for visibility in VISIBILITIES
]


@pytest.mark.parametrize(("route", "role_name", "visibility"), CELLS)
def test_authorization(
    stack: Stack,
    shared: dict[tuple[str, str], Repo],
    browsers: dict[str, tuple[httpx.Client, str]],
    route: Route,
    role_name: str,
    visibility: str,
) -> None:
    role = ROLES[role_name]
    repo = shared[(role.namespace, visibility)]
    if route.fresh and route.scope == "repo":
        name = f"cell-{next(FRESH)}"
        repo = make_repo(stack, role.namespace, name, visibility, pushed=route.surface == "registry")
    org = "acme"
    if route.fresh and route.scope == "org":
        org = make_org(stack, f"org{next(FRESH)}")
    new_image = random_image_id()
    values = {
        "namespace": role.namespace,
        "new": f"new-{next(FRESH)}",
        "org": org,
        "repo": repo.remote,
        "name": repo.remote.split("/")[1],
        "image": repo.image,
        "new_image": new_image,
        "new_image_json": image_json(new_image).decode(),
        "webhook": str(repo.webhook),
        "visibility": visibility,
    }
    path, body = fill(route.path, values), fill(route.body, values)
    if route.surface == "registry":
        headers = registry_credentials(stack, role_name, repo.remote, route.access)
        content = json.dumps(body) if body == repo.image else body
        http = client(stack, None, stack.registry.url)
        response = http.request(route.method, path, content=content, headers=headers)
    elif route.surface == "v2":
        headers = bearer_credentials(stack, role_name, repo.remote, route.needs)
        response = client(stack, None, stack.registry.url).request(route.method, path, headers=headers)
    elif route.surface == "web":
        browser, token = browsers[role_name]
        data = {"csrf_token": token, **(body or {})} if route.method == "POST" else None
        response = browser.request(route.method, path, data=data, follow_redirects=False)
    else:
        http = role_client(stack, role_name)
        response = http.request(route.method, path, json=body, headers=route.headers)
    want = expected(route, role, visibility)
    assert response.status_code == want, f"{route} as {role_name} on {visibility}: {response.text[:300]}"
    if route.surface == "web" and want == 303 and (role.user is None or role.scopes is not None):
        assert response.headers["location"].startswith("/login")
