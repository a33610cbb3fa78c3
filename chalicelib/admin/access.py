"""/api/v1 identity and access: users, groups, robot accounts, attached policies, registry
roles and resource policies, whoami and the IdP token exchange."""
from __future__ import annotations

import json

from chalicelib.auth.policy import IAM_RESOURCE
from chalicelib.auth.principals import ROBOT_PREFIX, check_name, describe, robot_login
from chalicelib.auth.scopes import parse_scopes

from .http import ApiError, Call, json_response, route

MANAGE_IAM = ("iam:ManagePrincipals", IAM_RESOURCE)
MANAGE_REGISTRY = ("registry:ManageAccess", "mrn:registry:{registry}")
PRINCIPAL_TYPES = {"users": "user", "groups": "group"}


def _principals(call: Call):
    return call.services.auth.principals


def _found(record, what: str):
    if record is None:
        raise ApiError(404, "NOT_FOUND", f"{what} does not exist")
    return record


# ---- who am I, IdP exchange -------------------------------------------------------------

@route("GET", "/auth/whoami")
def whoami(call: Call):
    return json_response(200, {"subject": call.identity.subject, "type": call.identity.ptype,
                               "name": call.identity.name, "groups": list(call.identity.groups)})


@route("POST", "/auth/oidc", anonymous=True)
def oidc_exchange(call: Call):
    """Trade an IdP's ID token for a registry token (and a refresh token) of that user."""
    id_token = call.body().get("id_token")
    if not isinstance(id_token, str) or _principals(call)._oidc is None:
        raise ApiError(400, "INVALID_ARGUMENT", "'id_token' (string) is required and an IdP must be configured")
    identity = _principals(call).federated(id_token)
    if identity is None:
        raise ApiError(401, "UNAUTHORIZED", "the ID token is not valid for any configured identity provider")
    return json_response(200, call.services.auth.issue(identity, parse_scopes([]), call.request.source_ip,
                                                       offline=True))


# ---- users and groups -------------------------------------------------------------------

@route("GET", "/users", needs=MANAGE_IAM)
def list_users(call: Call):
    return json_response(200, {"users": [describe(r) for r in _principals(call).list("user")]})


@route("POST", "/users", needs=MANAGE_IAM)
def create_user(call: Call):
    body = call.body()
    groups = body.get("groups", [])
    if not isinstance(groups, list):
        raise ApiError(400, "INVALID_ARGUMENT", "'groups' must be a list of group names")
    record = _principals(call).create_user(body.get("name"), body.get("password"), call.identity.subject,
                                           groups=groups)
    return json_response(201, describe(record))


@route("GET", "/users/{name}", needs=MANAGE_IAM)
def get_user(call: Call):
    name = call.params["name"]
    return json_response(200, describe(_found(_principals(call).get("user", name), f"user '{name}'")))


@route("DELETE", "/users/{name}", needs=MANAGE_IAM)
def delete_user(call: Call):
    if call.identity.ptype == "user" and call.identity.name == call.params["name"]:
        raise ApiError(409, "CONFLICT", "you cannot delete yourself")
    _principals(call).delete("user", call.params["name"], call.identity.subject)
    return json_response(200, {"deleted": call.params["name"]})


@route("PUT", "/users/{name}/password")
def set_password(call: Call):
    """Users change their own password; changing another's needs iam:ManagePrincipals."""
    name = call.params["name"]
    if not (call.identity.ptype == "user" and call.identity.name == name):
        call.require(*MANAGE_IAM)
    _principals(call).set_password(name, call.body().get("password"), call.identity.subject)
    return json_response(200, {"name": name, "password": "changed"})


@route("PUT", "/users/{name}/groups", needs=MANAGE_IAM)
def set_groups(call: Call):
    record = _principals(call).set_groups(call.params["name"], call.body().get("groups"), call.identity.subject)
    return json_response(200, describe(record))


@route("GET", "/groups", needs=MANAGE_IAM)
def list_groups(call: Call):
    return json_response(200, {"groups": [describe(r) for r in _principals(call).list("group")]})


@route("POST", "/groups", needs=MANAGE_IAM)
def create_group(call: Call):
    return json_response(201, describe(_principals(call).create_group(call.body().get("name"), call.identity.subject)))


@route("DELETE", "/groups/{name}", needs=MANAGE_IAM)
def delete_group(call: Call):
    _principals(call).delete("group", call.params["name"], call.identity.subject)
    return json_response(200, {"deleted": call.params["name"]})


# ---- attached policies (users, groups) ---------------------------------------------------

@route("GET", "/{kind}/{name}/policies", needs=MANAGE_IAM)
def list_policies(call: Call):
    record = _principal(call)
    return json_response(200, {"policies": {k: json.loads(v) for k, v in sorted(record.policies.items())}})


@route("PUT", "/{kind}/{name}/policies/{policy}", needs=MANAGE_IAM)
def put_policy(call: Call):
    _principal(call)
    document = _principals(call).put_policy(PRINCIPAL_TYPES[call.params["kind"]], call.params["name"],
                                            call.params["policy"], call.body(), call.identity.subject)
    return json_response(200, {"name": call.params["policy"], "document": document})


@route("DELETE", "/{kind}/{name}/policies/{policy}", needs=MANAGE_IAM)
def delete_policy(call: Call):
    _principal(call)
    try:
        _principals(call).delete_policy(PRINCIPAL_TYPES[call.params["kind"]], call.params["name"],
                                        call.params["policy"], call.identity.subject)
    except KeyError:
        raise ApiError(404, "NOT_FOUND", f"policy '{call.params['policy']}' is not attached") from None
    return json_response(200, {"deleted": call.params["policy"]})


def _principal(call: Call):
    kind, name = call.params["kind"], call.params["name"]
    if kind not in PRINCIPAL_TYPES:
        raise ApiError(404, "NOT_FOUND", f"no such endpoint: /api/v1/{kind}/…")
    return _found(_principals(call).get(PRINCIPAL_TYPES[kind], name), f"{PRINCIPAL_TYPES[kind]} '{name}'")


# ---- a registry's access: members (roles), robots, resource policy -----------------------

@route("GET", "/registries/{registry}/members", needs=MANAGE_REGISTRY)
def list_members(call: Call):
    members = _principals(call).members(call.services.registries.require(call.params["registry"]).name)
    return json_response(200, {"members": [{"type": r.ptype, "name": r.name, "role": role} for r, role in members]})


@route("PUT", "/registries/{registry}/members/{ptype}/{name}", needs=MANAGE_REGISTRY)
def set_member(call: Call):
    ptype, name = _member(call)
    role = call.body().get("role")
    if not isinstance(role, str):  # set_role takes None as "remove the role": DELETE does that
        raise ApiError(400, "INVALID_ARGUMENT", "'role' (string) is required: the built-in role to grant")
    record = _principals(call).set_role(ptype, name, call.params["registry"], role, call.identity.subject)
    return json_response(200, {"type": ptype, "name": record.name, "role": record.roles[call.params["registry"]]})


@route("DELETE", "/registries/{registry}/members/{ptype}/{name}", needs=MANAGE_REGISTRY)
def remove_member(call: Call):
    ptype, name = _member(call)
    _principals(call).set_role(ptype, name, call.params["registry"], None, call.identity.subject)
    return json_response(200, {"type": ptype, "name": name, "role": None})


def _member(call: Call) -> tuple[str, str]:
    ptype, name = call.params["ptype"], call.params["name"]
    if ptype not in ("user", "group", "robot"):
        raise ApiError(400, "INVALID_ARGUMENT", "member type must be user, group or robot")
    if ptype == "robot":
        name = name.removeprefix(ROBOT_PREFIX)
    _found(_principals(call).get(ptype, name), f"{ptype} '{name}'")
    return ptype, name


@route("GET", "/registries/{registry}/robots", needs=MANAGE_REGISTRY)
def list_robots(call: Call):
    registry = call.services.registries.require(call.params["registry"]).name
    return json_response(200, {"robots": [describe(r) for r in _principals(call).robots(registry)]})


@route("POST", "/registries/{registry}/robots", needs=MANAGE_REGISTRY)
def create_robot(call: Call):
    body = call.body()
    registry, role = call.params["registry"], body.get("role")
    if role is not None and not (isinstance(role, str) and role):  # create_robot reads any falsy role as none
        raise ApiError(400, "INVALID_ARGUMENT", "'role' is a built-in role, or null for none")
    record, secret = _principals(call).create_robot(
        registry, body.get("name"), call.identity.subject, role=role,
        expires_in_days=body.get("expires_in_days"), description=body.get("description", ""))
    # The only time the secret is shown: it is not stored, only its hash.
    return json_response(201, {**describe(record), "secret": secret})


@route("DELETE", "/registries/{registry}/robots/{name}", needs=MANAGE_REGISTRY)
def revoke_robot(call: Call):
    name = call.params["name"].removeprefix(ROBOT_PREFIX)
    registry = call.params["registry"]
    name = name.removeprefix(f"{registry}+")
    _principals(call).revoke_robot(registry, check_name("robot", name), call.identity.subject)
    return json_response(200, {"revoked": robot_login(registry, name)})


@route("PUT", "/registries/{registry}/robots/{name}/policies/{policy}", needs=MANAGE_REGISTRY)
def put_robot_policy(call: Call):
    registry, name = call.params["registry"], call.params["name"].removeprefix(ROBOT_PREFIX)
    full = name if name.startswith(f"{registry}+") else f"{registry}+{name}"
    _found(_principals(call).get("robot", full), f"robot '{full}'")
    document = _principals(call).put_policy("robot", full, call.params["policy"], call.body(), call.identity.subject)
    return json_response(200, {"name": call.params["policy"], "document": document})


@route("GET", "/registries/{registry}/policy", needs=MANAGE_REGISTRY)
def get_registry_policy(call: Call):
    return json_response(200, {"policy": _principals(call).registry_policy(call.params["registry"])})


@route("PUT", "/registries/{registry}/policy", needs=MANAGE_REGISTRY)
def put_registry_policy(call: Call):
    policy = _principals(call).set_registry_policy(call.params["registry"], call.body(), call.identity.subject)
    return json_response(200, {"policy": policy})


@route("DELETE", "/registries/{registry}/policy", needs=MANAGE_REGISTRY)
def delete_registry_policy(call: Call):
    _principals(call).set_registry_policy(call.params["registry"], None, call.identity.subject)
    return json_response(200, {"policy": None})
