"""OIDC federation end to end: a local issuer (tests/auth/oidc_issuer.py) and a `moorage serve`
of this module's own that trusts it through MOORAGE_OIDC_PROVIDERS.

ID tokens are accepted as the password of HTTP Basic (docker login, the token endpoint) and
traded at POST /api/v1/auth/oidc; their group claims meet the registry's groups and roles.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import jwt
import pytest
import requests

from chalicelib.cli.auth import TokenAuth
from tests.auth.oidc_issuer import OidcIssuer
from tests.support.servers import REPO_ROOT, RegistryStartError, RunningRegistry, start_registry, stop_registry

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("MOORAGE_TEST_HOST")),
    reason="needs a moorage server of its own, started with MOORAGE_OIDC_PROVIDERS")

AUDIENCE = "moorage"
TIMEOUT = 60
OCTET = {"Content-Type": "application/octet-stream"}


def unique(label: str) -> str:
    return f"{label}{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcIssuer]:
    with OidcIssuer() as issuer:
        yield issuer


@pytest.fixture(scope="module")
def server(idp, tmp_path_factory) -> Iterator[RunningRegistry]:
    providers = json.dumps([{"issuer": idp.issuer, "audience": AUDIENCE}])
    try:
        running = start_registry("moorage", tmp_path_factory.mktemp("registry-oidc"),
                                 env={"MOORAGE_OIDC_PROVIDERS": providers})
    except RegistryStartError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield running
    finally:
        stop_registry(running)


# ---- helpers ---------------------------------------------------------------------------------

def as_admin(server: RunningRegistry, method: str, path: str, body: object = None) -> dict:
    response = requests.request(method, f"{server.url}/api/v1{path}", json=body, timeout=TIMEOUT,
                                auth=(server.username, server.password))
    assert response.status_code in (200, 201), response.text
    return response.json()


def token(server: RunningRegistry, scope: str, auth: tuple[str, str]) -> requests.Response:
    return requests.get(f"{server.url}/token", params={"service": "moorage", "scope": scope},
                        auth=auth, timeout=TIMEOUT)


def exchange(server: RunningRegistry, id_token: object) -> requests.Response:
    return requests.post(f"{server.url}/api/v1/auth/oidc", json={"id_token": id_token}, timeout=TIMEOUT)


def claims_of(registry_token: str) -> dict:
    return jwt.decode(registry_token, options={"verify_signature": False})


def push_small(session: requests.Session, server: RunningRegistry, repo: str, data: bytes) -> requests.Response:
    """A blob pushed in one POST (the session logs in on the 401 challenge, as docker does)."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return session.post(f"{server.url}/v2/{repo}/blobs/uploads/", params={"digest": digest}, data=data,
                        headers=OCTET, timeout=TIMEOUT)


def session_of(server: RunningRegistry, **credentials: str) -> requests.Session:
    session = requests.Session()
    session.auth = TokenAuth(server.url, **credentials)
    return session


@pytest.fixture(scope="module")
def team(server) -> dict[str, str]:
    """A registry whose group `group` is Developer, and another registry it has no role in."""
    names = {"registry": unique("team"), "other": unique("other"), "group": unique("devs")}
    as_admin(server, "POST", "/registries", {"name": names["registry"]})
    as_admin(server, "POST", "/registries", {"name": names["other"]})
    as_admin(server, "POST", "/groups", {"name": names["group"]})
    done = as_admin(server, "PUT", f"/registries/{names['registry']}/members/group/{names['group']}",
                    {"role": "Developer"})
    assert done == {"type": "group", "name": names["group"], "role": "Developer"}
    return names


# ---- an ID token as a password -----------------------------------------------------------------

def test_an_id_token_is_the_password_of_basic_auth_at_the_token_endpoint(server, idp):
    name = unique("alice")
    id_token = idp.id_token(unique("sub-"), AUDIENCE, username=name)
    for username in (name, "oauth2accesstoken"):  # the token names the user, not the Basic username
        response = token(server, "repository:library/x:pull", (username, id_token))
        assert response.status_code == 200, response.text
        claims = claims_of(response.json()["token"])
        assert claims["sub"] == f"federated:{name}" and claims["ptype"] == "federated"
        assert [entry["actions"] for entry in claims["access"]] == [[]]  # federated, granted nothing
    me = requests.get(f"{server.url}/api/v1/auth/whoami", auth=(name, id_token), timeout=TIMEOUT)
    assert me.status_code == 200, me.text
    assert me.json() == {"subject": f"federated:{name}", "type": "federated", "name": name, "groups": []}


def test_local_passwords_still_work_beside_the_idp(server):
    response = token(server, "", (server.username, server.password))
    assert response.status_code == 200, response.text
    assert claims_of(response.json()["token"])["sub"] == f"user:{server.username}"


# ---- the exchange ------------------------------------------------------------------------------

def test_the_oidc_exchange_gives_a_registry_token_and_a_refresh_token(server, idp):
    name = unique("bob")
    response = exchange(server, idp.id_token(unique("sub-"), AUDIENCE, username=name, groups=["qa"]))
    assert response.status_code == 200, response.text
    body = response.json()
    access = claims_of(body["token"])
    assert access["sub"] == f"federated:{name}" and access["groups"] == ["qa"]
    assert body["expires_in"] > 0 and body["refresh_token"]
    assert claims_of(body["refresh_token"])["use"] == "refresh"

    # the registry token is one of ours: the management API takes it
    me = requests.get(f"{server.url}/api/v1/auth/whoami", headers={"Authorization": f"Bearer {body['token']}"},
                      timeout=TIMEOUT)
    assert me.status_code == 200 and me.json()["subject"] == f"federated:{name}", me.text

    refreshed = requests.post(f"{server.url}/token", timeout=TIMEOUT, data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"], "service": "moorage"})
    assert refreshed.status_code == 200, refreshed.text
    again = claims_of(refreshed.json()["access_token"])
    assert again["sub"] == f"federated:{name}" and again["groups"] == ["qa"]


@pytest.mark.parametrize("id_token", [None, 42, ""])
def test_the_exchange_needs_an_id_token(server, id_token):
    response = exchange(server, id_token)
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"]["message"]
    if id_token is None:
        assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_ARGUMENT"


# ---- groups ------------------------------------------------------------------------------------

def test_group_claims_give_the_groups_roles_in_that_registry_only(server, idp, team):
    name = unique("carol")
    id_token = idp.id_token(unique("sub-"), AUDIENCE, username=name, groups=[team["group"], "unknown-group"])
    session = session_of(server, username=name, password=id_token)
    pushed = push_small(session, server, f"{team['registry']}/app", b"federated bytes " + name.encode())
    assert pushed.status_code == 201, pushed.text
    refused = push_small(session, server, f"{team['other']}/app", b"federated bytes " + name.encode())
    assert refused.status_code == 403, refused.text
    assert refused.json()["errors"][0]["code"] == "DENIED"


def test_without_the_group_claim_the_role_does_not_apply(server, idp, team):
    name = unique("dave")
    id_token = idp.id_token(unique("sub-"), AUDIENCE, username=name, groups=["someone-else"])
    refused = push_small(session_of(server, username=name, password=id_token), server,
                         f"{team['registry']}/app", b"not mine")
    assert refused.status_code == 403, refused.text


def test_the_refresh_token_of_the_exchange_keeps_the_groups(server, idp, team):
    name = unique("erin")
    body = exchange(server, idp.id_token(unique("sub-"), AUDIENCE, username=name, groups=[team["group"]])).json()
    session = session_of(server, refresh_token=body["refresh_token"])
    pushed = push_small(session, server, f"{team['registry']}/app", b"by refresh " + name.encode())
    assert pushed.status_code == 201, pushed.text
    assert push_small(session, server, f"{team['other']}/app", b"by refresh").status_code == 403


def test_moorage_login_with_an_id_token(server, idp, team, tmp_path):
    name = unique("frank")
    id_token = idp.id_token(unique("sub-"), AUDIENCE, username=name, groups=[team["group"]])
    env = {**{k: v for k, v in os.environ.items() if k not in ("MOORAGE_USERNAME", "MOORAGE_PASSWORD")},
           "XDG_CONFIG_HOME": str(tmp_path)}

    def moorage(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "chalicelib.cli", "--url", server.url, *args], input=stdin,
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)

    login = moorage("login", "-u", name, "--password-stdin", stdin=id_token + "\n")
    assert login.returncode == 0, login.stderr
    assert id_token not in (tmp_path / "moorage" / "credentials.json").read_text()
    whoami = moorage("whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout.strip() == f"federated:{name} (groups: {team['group']})"


# ---- refused ID tokens -------------------------------------------------------------------------

REFUSED = {
    "expired": dict(expires_in=-600),
    "wrong audience": dict(audience="someone-else"),
    "signed by a key not in the JWKS": dict(forged=True),
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_bad_id_tokens_are_refused(server, idp, team, kind):
    options = {"audience": AUDIENCE, **REFUSED[kind]}
    name = unique("mallory")
    bad = idp.id_token(unique("sub-"), options.pop("audience"), username=name, groups=[team["group"]], **options)

    at_token = token(server, f"repository:{team['registry']}/app:pull,push", (name, bad))
    assert at_token.status_code == 401, at_token.text
    assert at_token.json()["errors"][0]["code"] == "UNAUTHORIZED"
    at_exchange = exchange(server, bad)
    assert at_exchange.status_code == 401, at_exchange.text
    assert at_exchange.json()["error"]["code"] == "UNAUTHORIZED"
    password_grant = requests.post(f"{server.url}/token", timeout=TIMEOUT, data={
        "grant_type": "password", "username": name, "password": bad, "service": "moorage"})
    assert password_grant.status_code == 401 and password_grant.json()["error"] == "invalid_grant"
    refused = push_small(session_of(server, username=name, password=bad), server, f"{team['registry']}/app", b"x")
    assert refused.status_code == 401, refused.text

    # the same token, made right, is accepted: what was refused is exactly what was wrong
    good = idp.id_token(unique("sub-"), AUDIENCE, username=name, groups=[team["group"]])
    assert token(server, "", (name, good)).status_code == 200
