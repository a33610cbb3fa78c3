"""Identity and access through the running server: the docker token flow, users, groups,
robots, roles, policies, registry isolation and hostile tokens."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.cli.auth import TokenAuth, parse_challenge
from tests.registry.helpers import OCTET, TIMEOUT, assert_error, sha256

ROLES_CAN = {  # built-in role -> registry actions it allows (the documented table)
    "RegistryAdmin": {"pull", "push", "delete"},
    "Maintainer": {"pull", "push", "delete"},
    "Developer": {"pull", "push"},
    "Guest": {"pull"},
    "Auditor": set(),
    "BillingViewer": set(),
}


def unique(label: str) -> str:
    return f"{label}{uuid.uuid4().hex[:8]}"


class Admin:
    """The management API as the server's administrator."""

    def __init__(self, api):
        self.api = api

    def call(self, method: str, path: str, body: object = None, auth=None) -> requests.Response:
        return requests.request(method, self.api.url("/api/v1" + path), json=body, timeout=TIMEOUT,
                                auth=auth if auth is not None else self.api.credentials)

    def ok(self, method: str, path: str, body: object = None) -> dict:
        response = self.call(method, path, body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def registry(self) -> str:
        return self.ok("POST", "/registries", {"name": unique("reg")})["name"]

    def user(self, roles: dict[str, str] = {}, groups: list[str] = ()) -> tuple[str, str]:
        name, password = unique("u"), uuid.uuid4().hex
        self.ok("POST", "/users", {"name": name, "password": password, "groups": list(groups)})
        for registry, role in roles.items():
            self.ok("PUT", f"/registries/{registry}/members/user/{name}", {"role": role})
        return name, password


@pytest.fixture(scope="module")
def admin(api) -> Admin:
    return Admin(api)


def session_of(api, username: str | None, password: str | None = None) -> requests.Session:
    session = requests.Session()
    session.auth = TokenAuth(api.base, username, password)
    return session


def token(api, scopes: list[str], auth=None, **params) -> requests.Response:
    return requests.get(api.url("/token"), params={"service": "moorage", "scope": scopes, **params},
                        auth=auth, timeout=TIMEOUT)


def push_small(session: requests.Session, api, repo: str, data: bytes) -> requests.Response:
    return session.post(api.v2(repo, "blobs", "uploads") + "/", params={"digest": sha256(data)}, data=data,
                        headers=OCTET, timeout=TIMEOUT)


# ---- the challenge and the token endpoint -------------------------------------------------

def test_unauthenticated_requests_get_the_bearer_challenge(api):
    for path in ("/v2/", "/v2/library/anything/tags/list", "/v2/_catalog"):
        response = requests.get(api.url(path), timeout=TIMEOUT)
        assert_error(response, 401, "UNAUTHORIZED")
        scheme, params = parse_challenge(response.headers["WWW-Authenticate"])
        assert scheme == "bearer"
        assert params["realm"] == api.url("/token") and params["service"] == "moorage"
    scoped = requests.head(api.v2("library/x", "manifests", "1"), timeout=TIMEOUT)
    assert parse_challenge(scoped.headers["WWW-Authenticate"])[1]["scope"] == "repository:library/x:pull"
    push = requests.post(api.v2("library/x", "blobs", "uploads") + "/", timeout=TIMEOUT)
    assert parse_challenge(push.headers["WWW-Authenticate"])[1]["scope"] == "repository:library/x:pull,push"


def test_token_endpoint_answers_the_docker_shape(api):
    response = token(api, ["repository:library/a:pull,push", "repository:library/b:pull"], auth=api.credentials)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token"] == body["access_token"] and body["expires_in"] > 0 and body["issued_at"].endswith("Z")
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["sub"] == "user:admin" and claims["aud"] == "moorage"
    assert {"iss", "exp", "nbf", "iat", "jti"} <= set(claims)
    assert sorted((a["name"], tuple(a["actions"])) for a in claims["access"]) == [
        ("library/a", ("pull", "push")), ("library/b", ("pull",))]
    header = jwt.get_unverified_header(body["token"])
    assert header["alg"] == "ES256" and header["kid"] in {k["kid"] for k in requests.get(
        api.url("/token/jwks"), timeout=TIMEOUT).json()["keys"]}


def test_token_endpoint_refuses_bad_requests(api):
    assert_error(token(api, [], auth=(api.credentials[0], "wrong-password")), 401, "UNAUTHORIZED")
    assert_error(token(api, [], auth=("nobody", "whatever1")), 401, "UNAUTHORIZED")
    bad = requests.get(api.url("/token"), headers={"Authorization": "Basic !!!notbase64"}, timeout=TIMEOUT)
    assert_error(bad, 401, "UNAUTHORIZED")
    assert_error(token(api, ["repository:Bad Name:pull"]), 400, "INVALID_SCOPE")
    assert_error(requests.get(api.url("/token"), params={"service": "other"}, timeout=TIMEOUT), 400)


def test_oauth2_password_and_refresh_grants(api):
    user, password = api.credentials
    form = {"grant_type": "password", "username": user, "password": password, "service": "moorage",
            "client_id": "containerd", "scope": "repository:library/oauth:pull"}
    first = requests.post(api.url("/token"), data=form, timeout=TIMEOUT)
    assert first.status_code == 200, first.text
    refresh = first.json()["refresh_token"]
    again = requests.post(api.url("/token"), data={"grant_type": "refresh_token", "refresh_token": refresh,
                                                   "service": "moorage", "scope": "repository:library/oauth:push"},
                          timeout=TIMEOUT)
    assert again.status_code == 200, again.text
    assert jwt.decode(again.json()["access_token"], options={"verify_signature": False})["access"][0]["actions"] \
        == ["push"]
    for bad in ({**form, "password": "nope-nope"}, {"grant_type": "refresh_token", "refresh_token": "x.y.z"},
                {"grant_type": "refresh_token", "refresh_token": first.json()["access_token"]}):
        response = requests.post(api.url("/token"), data=bad, timeout=TIMEOUT)
        assert response.status_code == 401 and response.json()["error"] == "invalid_grant", response.text
    unsupported = requests.post(api.url("/token"), data={"grant_type": "client_credentials"}, timeout=TIMEOUT)
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"


# ---- hostile tokens ---------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(api, repo: str, **over) -> dict:
    now = int(time.time())
    return {"iss": "moorage", "aud": "moorage", "sub": "user:admin", "iat": now, "nbf": now, "exp": now + 300,
            "jti": uuid.uuid4().hex, "access": [{"type": "repository", "name": repo, "actions": ["pull"]}], **over}


def test_hostile_tokens_are_refused(api, seed):
    jwks = requests.get(api.url("/token/jwks"), timeout=TIMEOUT).json()["keys"]
    kid = jwks[0]["kid"]
    public_pem = jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(jwks[0])).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    other_key = ec.generate_private_key(ec.SECP256R1())
    claims = _claims(api, seed.repo)
    unsigned = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode()) + "." + \
        _b64(json.dumps(claims).encode()) + "."
    header_hs = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64(json.dumps(claims).encode())
    confused = f"{header_hs}.{payload}." + _b64(hmac.new(public_pem, f"{header_hs}.{payload}".encode(),
                                                          hashlib.sha256).digest())
    forged = jwt.encode(claims, other_key, algorithm="ES256", headers={"kid": kid})
    hostile = {
        "garbage": "not-a-token",
        "alg none": unsigned,
        "HS256 with the public key": confused,
        "forged signature": forged,
    }
    valid = token(api, [f"repository:{seed.repo}:pull"], auth=api.credentials).json()["token"]
    parts = valid.split(".")
    hostile["tampered claims"] = ".".join([parts[0], _b64(json.dumps(_claims(api, "library/*")).encode()), parts[2]])
    for name, text in hostile.items():
        response = requests.get(api.v2(seed.repo, "tags", "list"), headers={"Authorization": f"Bearer {text}"},
                                timeout=TIMEOUT)
        assert_error(response, 401, "UNAUTHORIZED")
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"], name
    ok = requests.get(api.v2(seed.repo, "tags", "list"), headers={"Authorization": f"Bearer {valid}"}, timeout=TIMEOUT)
    assert ok.status_code == 200


def test_a_token_for_another_repository_does_not_open_this_one(api, seed):
    other = token(api, ["repository:library/elsewhere:pull,push,delete"], auth=api.credentials).json()["token"]
    response = requests.get(api.v2(seed.repo, "tags", "list"), headers={"Authorization": f"Bearer {other}"},
                            timeout=TIMEOUT)
    assert_error(response, 403, "DENIED")  # RFC 6750 3.1, with the challenge for the scope needed
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert f'scope="repository:{seed.repo}:pull"' in response.headers["WWW-Authenticate"]


# ---- roles, isolation, policies ------------------------------------------------------------

@pytest.mark.parametrize("role", sorted(ROLES_CAN))
def test_built_in_roles_allow_exactly_their_registry_actions(api, admin, role):
    registry = admin.registry()
    repo = f"{registry}/app"
    assert push_small(api.s, api, repo, b"seed-" + role.encode()).status_code == 201
    user, password = admin.user({registry: role})
    session = session_of(api, user, password)
    data = b"by " + role.encode()
    results = {
        "pull": session.get(api.v2(repo, "blobs", sha256(b"seed-" + role.encode())), allow_redirects=False,
                            timeout=TIMEOUT).status_code == 307,
        "push": push_small(session, api, repo, data).status_code == 201,
        "delete": session.delete(api.v2(repo, "blobs", sha256(b"seed-" + role.encode())),
                                 timeout=TIMEOUT).status_code == 202,
    }
    assert {action for action, done in results.items() if done} == ROLES_CAN[role]


def test_a_registry_is_invisible_to_principals_of_another(api, admin):
    mine, theirs = admin.registry(), admin.registry()
    assert push_small(api.s, api, f"{theirs}/secret", b"theirs").status_code == 201
    user, password = admin.user({mine: "RegistryAdmin"})
    session = session_of(api, user, password)
    existing = session.get(api.v2(f"{theirs}/secret", "tags", "list"), timeout=TIMEOUT)
    missing = session.get(api.v2(f"{theirs}/nothing", "tags", "list"), timeout=TIMEOUT)
    unknown_registry = session.get(api.v2(f"{unique('none')}/x", "tags", "list"), timeout=TIMEOUT)
    for response in (existing, missing, unknown_registry):
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "DENIED"
    texts = {json.dumps({**r.json()["errors"][0], "message": r.json()["errors"][0]["message"]
                         .replace(f"{theirs}/secret", "X").replace(f"{theirs}/nothing", "X")})
             for r in (existing, missing)}
    assert len(texts) == 1  # nothing tells an existing repository from a missing one
    assert push_small(session, api, f"{theirs}/secret", b"mine").status_code == 403
    catalog = session.get(api.url("/v2/_catalog"), timeout=TIMEOUT).json()["repositories"]
    assert all(name.startswith(f"{mine}/") for name in catalog)
    listed = requests.get(api.url("/api/v1/registries"), auth=(user, password), timeout=TIMEOUT).json()
    assert [r["name"] for r in listed["registries"]] == [mine]


def test_explicit_deny_beats_a_role_and_groups_grant(api, admin):
    registry = admin.registry()
    group = unique("g")
    admin.ok("POST", "/groups", {"name": group})
    admin.ok("PUT", f"/registries/{registry}/members/group/{group}", {"role": "Developer"})
    user, password = admin.user(groups=[group])
    session = session_of(api, user, password)
    assert push_small(session, api, f"{registry}/open/app", b"open").status_code == 201
    admin.ok("PUT", f"/users/{user}/policies/no-prod", {"Statement": [
        {"Effect": "Deny", "Action": "repository:Push", "Resource": f"mrn:repository:{registry}/prod/*"}]})
    session = session_of(api, user, password)  # a new token: the old one still holds its grant
    assert push_small(session, api, f"{registry}/prod/app", b"prod").status_code == 403
    assert push_small(session, api, f"{registry}/open/app", b"open2").status_code == 201


def test_policy_conditions_on_source_ip(api, admin):
    registry = admin.registry()
    user, password = admin.user()
    admin.ok("PUT", f"/users/{user}/policies/office-only", {"Statement": [
        {"Effect": "Allow", "Action": "repository:*", "Resource": f"mrn:repository:{registry}/*",
         "Condition": {"IpAddress": {"moorage:SourceIp": "10.0.0.0/8"}}}]})
    assert push_small(session_of(api, user, password), api, f"{registry}/app", b"x").status_code == 403
    admin.ok("PUT", f"/users/{user}/policies/office-only", {"Statement": [
        {"Effect": "Allow", "Action": "repository:*", "Resource": f"mrn:repository:{registry}/*",
         "Condition": {"IpAddress": {"moorage:SourceIp": ["10.0.0.0/8", "127.0.0.0/8"]}}}]})
    assert push_small(session_of(api, user, password), api, f"{registry}/app", b"x").status_code == 201


def test_anonymous_pull_of_a_public_registry(api, admin):
    registry = admin.registry()
    assert push_small(api.s, api, f"{registry}/pub", b"public bytes").status_code == 201
    anonymous = session_of(api, None)
    blob = api.v2(f"{registry}/pub", "blobs", sha256(b"public bytes"))
    assert anonymous.head(blob, timeout=TIMEOUT).status_code == 401
    admin.ok("PUT", f"/registries/{registry}/policy", {"Statement": [
        {"Effect": "Allow", "Action": "repository:Pull", "Resource": f"mrn:repository:{registry}/*"}]})
    anonymous = session_of(api, None)
    assert anonymous.head(blob, timeout=TIMEOUT).status_code == 200
    assert push_small(anonymous, api, f"{registry}/pub", b"vandal").status_code == 401
    outside = admin.call("PUT", f"/registries/{registry}/policy", {"Statement": [
        {"Effect": "Allow", "Action": "repository:Pull", "Resource": "mrn:repository:library/*"}]})
    assert outside.status_code == 400 and "outside registry" in outside.json()["error"]["message"]


# ---- robots -------------------------------------------------------------------------------------

def test_robot_accounts_push_in_their_registry_only_until_revoked(api, admin):
    registry, other = admin.registry(), admin.registry()
    created = admin.ok("POST", f"/registries/{registry}/robots", {"name": "ci", "role": "Developer"})
    login, secret = created["login"], created["secret"]
    assert login == f"robot${registry}+ci"
    listed = admin.ok("GET", f"/registries/{registry}/robots")["robots"]
    assert [r["login"] for r in listed] == [login] and "secret" not in listed[0]
    session = session_of(api, login, secret)
    assert push_small(session, api, f"{registry}/app", b"robot bytes").status_code == 201
    assert push_small(session, api, f"{other}/app", b"robot bytes").status_code == 403
    held = token(api, [f"repository:{registry}/app:pull"], auth=(login, secret)).json()["token"]
    assert admin.ok("DELETE", f"/registries/{registry}/robots/ci")["revoked"] == login
    assert_error(token(api, [f"repository:{registry}/app:pull"], auth=(login, secret)), 401, "UNAUTHORIZED")
    refused = requests.get(api.v2(f"{registry}/app", "tags", "list"), headers={"Authorization": f"Bearer {held}"},
                           timeout=TIMEOUT)
    assert_error(refused, 401, "UNAUTHORIZED")


def test_robot_policies_cannot_reach_outside_their_registry(api, admin):
    registry = admin.registry()
    admin.ok("POST", f"/registries/{registry}/robots", {"name": "scanner"})
    outside = admin.call("PUT", f"/registries/{registry}/robots/scanner/policies/wide", {"Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    assert outside.status_code == 400


# ---- the management API's own checks -------------------------------------------------------

@pytest.mark.parametrize("method,path,body,status", [
    ("POST", "/users", {"name": "Bad Name", "password": "long-enough"}, 400),
    ("POST", "/users", {"name": "shortpw", "password": "short"}, 400),
    ("POST", "/users", {"name": "nopw"}, 400),
    ("POST", "/users", [], 400),
    ("POST", "/groups", {"name": "../etc"}, 400),
    ("GET", "/users/nobody-here", None, 404),
    ("DELETE", "/users/nobody-here", None, 404),
    ("PUT", "/users/admin/policies/bad", {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}, 400),
    ("PUT", "/users/admin/policies/typo", {"Statement": [{"Effect": "Allow", "Action": "repository:Pul",
                                                         "Resource": "*"}]}, 400),
    ("PUT", "/users/admin/policies/bad name!", {"Statement": []}, 400),
    ("PUT", "/registries/library/members/user/admin", {"role": "Overlord"}, 400),
    ("PUT", "/registries/library/members/alien/admin", {"role": "Guest"}, 400),
    ("POST", "/registries/library/robots", {"name": "r", "expires_in_days": -1}, 400),
    ("POST", "/registries/nonexistent-reg/robots", {"name": "r"}, 404),
    ("DELETE", "/users/admin", None, 409),
    ("PATCH", "/users", None, 405),
    ("GET", "/nothing/here", None, 404),
])
def test_management_bad_input(admin, method, path, body, status):
    response = admin.call(method, path, body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


def test_management_needs_authority(api, admin):
    assert admin.call("GET", "/users", auth=("", "")).status_code in (401,)
    no_auth = requests.get(api.url("/api/v1/users"), timeout=TIMEOUT)
    assert no_auth.status_code == 401 and no_auth.json()["error"]["code"] == "UNAUTHORIZED"
    user, password = admin.user()
    assert admin.call("GET", "/users", auth=(user, password)).status_code == 403
    assert admin.call("POST", "/registries", {"name": unique("r")}, auth=(user, password)).status_code == 403
    duplicate = admin.call("POST", "/users", {"name": user, "password": "another-password"})
    assert duplicate.status_code == 409
    me = admin.call("GET", "/auth/whoami", auth=(user, password)).json()
    assert me["subject"] == f"user:{user}"
    changed = admin.call("PUT", f"/users/{user}/password", {"password": "a-new-password"}, auth=(user, password))
    assert changed.status_code == 200
    assert admin.call("GET", "/auth/whoami", auth=(user, password)).status_code == 401
    assert admin.call("GET", "/auth/whoami", auth=(user, "a-new-password")).status_code == 200
    described = admin.ok("GET", f"/users/{user}")
    assert "secret_hash" not in json.dumps(described) and "scrypt" not in json.dumps(described)
