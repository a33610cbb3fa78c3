"""The document's identity and access part (admin/access.py): users, groups, robots,
attached IAM policies, registry members and resource policies, whoami, the IdP exchange."""
from __future__ import annotations

from chalicelib.auth.policy import ACTIONS, VERSION
from chalicelib.auth.roles import ROLES

from .parts import (MAYBE_TIME, TIME, anchored, answer, array, body, integer, nullable, obj, operation, path, ref,
                    string)
from .registry import REGISTRY, REGISTRY_NAME

_SECTION = "access"
# auth/principals.py `_NAME` and `_POLICY_NAME` (tests/admin/test_openapi_document.py holds them equal).
PRINCIPAL_NAME = r"[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?"
POLICY_NAME = r"[A-Za-z0-9+=,.@_-]{1,128}"
# A robot in a path: its login (robot$<registry>+<name>), its full name or its short name.
ROBOT_REF = anchored(rf"(?:robot\$)?(?:{REGISTRY_NAME}\+)?{PRINCIPAL_NAME}")

_STRINGS = {"anyOf": [string(minLength=1, maxLength=512), array(string(minLength=1, maxLength=512), minItems=1)],
            "description": "A string or a non-empty list of strings (1-512 characters each)."}
_CONDITION = {"type": "object", "additionalProperties": {"type": "object", "minProperties": 1,
                                                         "additionalProperties": _STRINGS},
              "description": "Operator → condition key → values. Operators (case-insensitive): IpAddress, "
                             "NotIpAddress (moorage:SourceIp, CIDR blocks), DateLessThan, DateGreaterThan "
                             "(moorage:CurrentTime, ISO 8601 times with a zone), StringEquals, "
                             "StringNotEquals, StringLike (moorage:Principal, moorage:PrincipalType)."}
_STATEMENT_FIELDS = {
    "Sid": nullable(string(pattern="^[A-Za-z0-9]{1,128}$")),
    "Effect": string(enum=["Allow", "Deny"]),
    "Action": {**_STRINGS, "description": "Actions (case-insensitive, `*` and `?` wildcards) that must match at "
                                          f"least one of: {', '.join(sorted(ACTIONS))}."},
    "Resource": {**_STRINGS, "description": "`*` or resources starting with mrn:registry:, mrn:repository:, "
                                            "mrn:iam:principals, mrn:events:queues or mrn:gc:collector."},
    "Condition": nullable(_CONDITION),
}
_CANONICAL_LIST = array(string(minLength=1, maxLength=512), minItems=1)
_PRINCIPAL = {"type": string(enum=["group"]), "name": string(), "created_at": TIME, "roles": ref("Roles"),
              "policies": array(string(), description="Names of the attached policies.")}

SCHEMAS = {
    "IamPolicy": obj({"Version": string(const=VERSION), "Id": {},
                      "Statement": {"anyOf": [ref("IamStatement"), array(ref("IamStatement"), maxItems=100)]}},
                     required=["Statement"],
                     description="An IAM-style policy as sent: at most 20 KiB (also in its canonical form). "
                                 "Unknown fields are refused."),
    "IamStatement": obj(_STATEMENT_FIELDS, required=["Effect", "Action", "Resource"]),
    "IamPolicyDocument": obj({
        "Version": string(const=VERSION),
        "Statement": array(obj({"Sid": string(pattern="^[A-Za-z0-9]{1,128}$"), "Effect": string(enum=["Allow", "Deny"]),
                                "Action": _CANONICAL_LIST, "Resource": _CANONICAL_LIST,
                                "Condition": {"type": "object", "additionalProperties": {
                                    "type": "object", "additionalProperties": _CANONICAL_LIST}}},
                               required=["Effect", "Action", "Resource"]))},
        description="A policy in its canonical (stored) form: lists everywhere, Version set."),
    "Roles": {"type": "object", "propertyNames": REGISTRY, "additionalProperties": string(enum=list(ROLES)),
              "description": "Registry → the built-in role held there."},
    # principals.describe(): what every principal shows, and what users and robots add.
    "Group": obj(_PRINCIPAL),
    "User": obj({**_PRINCIPAL, "type": string(enum=["user"]), "groups": array(string())}),
    "Robot": obj({**_PRINCIPAL, "type": string(enum=["robot"]), "registry": string(),
                  "login": string(description="The username to log in with: robot$<registry>+<name>."),
                  "description": string(), "expires_at": MAYBE_TIME}),
    "Token": obj({"token": string(), "access_token": string(), "expires_in": integer(),
                  "issued_at": TIME, "scope": string(), "refresh_token": string()},
                 required=["token", "access_token", "expires_in", "issued_at", "scope"]),
}

_NAME = {"type": "string", "pattern": anchored(PRINCIPAL_NAME)}
_GROUPS = array(_NAME, description="Names of existing groups.")
_PASSWORD = string(minLength=8, maxLength=1024)
_ROLE = string(enum=list(ROLES), description="A built-in role (matched case-insensitively).")
_USER = path("name", _NAME, "A user's name.", "alice")
_KIND = path("kind", string(enum=["users", "groups"]), "Users or groups.", "users")
_PRINCIPAL_NAME = path("name", _NAME, "The user's or group's name.", "alice")
_POLICY = path("policy", string(pattern=anchored(POLICY_NAME)), "The attached policy's name.", "ci-pull")
_REGISTRY = path("registry", REGISTRY, "The registry.", "acme")
_ROBOT = path("name", string(pattern=ROBOT_REF), "The robot: robot$<registry>+<name>, <registry>+<name> or "
                                                 "<name>.", "ci")
_MEMBER_TYPES = string(enum=["user", "group", "robot"])
_MEMBER_TYPE = path("ptype", _MEMBER_TYPES, "What kind of principal.", "user")
_MEMBER = path("name", string(pattern=ROBOT_REF), "The principal's name (a robot's full name, "
                                                  "<registry>+<name>, or its login).", "alice")
_NAMED_POLICY = obj({"name": string(), "document": ref("IamPolicyDocument")})
_MEMBER_VIEW = obj({"type": _MEMBER_TYPES, "name": string(), "role": _ROLE})
_IAM = body(ref("IamPolicy"), "The policy document.", {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "repository:Pull", "Resource": "mrn:repository:acme/*"}]})


def _deleted(description: str) -> dict:
    return answer(obj({"deleted": string()}), description)


def _op(summary: str, ok: dict, **details) -> dict:
    return operation(_SECTION, summary, ok, **details)


OPERATIONS = {
    ("GET", "/auth/whoami"): _op("Who the caller is", {200: answer(obj({
        "subject": string(description="What tokens and audit records carry, e.g. user:alice."),
        "type": string(enum=["user", "robot", "federated"]), "name": string(), "groups": array(string())}),
        "The caller.")}),
    ("POST", "/auth/oidc"): _op(
        "Trade an IdP's ID token for a registry token", {200: answer(ref("Token"), "A token and a refresh token.")},
        errors=[401], anonymous=True,
        request=body(obj({"id_token": string()}, additional=True), "The ID token the IdP issued.",
                     {"id_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl"}),
        description="400 when no IdP is configured; 401 when the ID token is not valid for any."),

    ("GET", "/users"): _op("List users", {200: answer(obj({"users": array(ref("User"))}), "Every user.")},
                           errors=[403]),
    ("POST", "/users"): _op(
        "Create a user", {201: answer(ref("User"), "The user.")}, errors=[403, 409],
        request=body(obj({"name": _NAME, "password": _PASSWORD, "groups": _GROUPS}, required=["name", "password"],
                         additional=True), "The user (other fields are ignored).",
                     {"name": "alice", "password": "correct horse", "groups": ["developers"]})),
    ("GET", "/users/{name}"): _op("Describe a user", {200: answer(ref("User"), "The user.")}, errors=[403, 404],
                                  params=[_USER]),
    ("DELETE", "/users/{name}"): _op("Delete a user", {200: _deleted("The user is gone.")}, errors=[403, 404, 409],
                                     params=[path("name", _NAME, "A user's name.", "bob")],
                                     description="409 for the caller's own user."),
    ("PUT", "/users/{name}/password"): _op(
        "Set a user's password", {200: answer(obj({"name": string(), "password": string(const="changed")}),
                                              "Changed.")},
        errors=[403, 404], params=[_USER],
        request=body(obj({"password": _PASSWORD}, additional=True), "The new password.",
                     {"password": "battery staple"}),
        description="Users change their own; changing another's needs iam:ManagePrincipals."),
    ("PUT", "/users/{name}/groups"): _op(
        "Set a user's groups", {200: answer(ref("User"), "The user.")}, errors=[403, 404], params=[_USER],
        request=body(obj({"groups": _GROUPS}, additional=True), "The groups the user is in from now on.",
                     {"groups": ["developers"]})),

    ("GET", "/groups"): _op("List groups", {200: answer(obj({"groups": array(ref("Group"))}), "Every group.")},
                            errors=[403]),
    ("POST", "/groups"): _op("Create a group", {201: answer(ref("Group"), "The group.")}, errors=[403, 409],
                             request=body(obj({"name": _NAME}, additional=True), "The group.", {"name": "developers"})),
    ("DELETE", "/groups/{name}"): _op("Delete a group", {200: _deleted("The group is gone.")}, errors=[403, 404],
                                      params=[path("name", _NAME, "The group's name.", "contractors")]),

    ("GET", "/{kind}/{name}/policies"): _op(
        "List the policies attached to a user or group",
        {200: answer(obj({"policies": {"type": "object", "propertyNames": {"pattern": anchored(POLICY_NAME)},
                                       "additionalProperties": ref("IamPolicyDocument")}}), "Name → document.")},
        errors=[403, 404], params=[_KIND, _PRINCIPAL_NAME]),
    ("PUT", "/{kind}/{name}/policies/{policy}"): _op(
        "Attach (or replace) a policy", {200: answer(_NAMED_POLICY, "The policy, canonical.")},
        errors=[403, 404], params=[_KIND, _PRINCIPAL_NAME, _POLICY], request=_IAM),
    ("DELETE", "/{kind}/{name}/policies/{policy}"): _op(
        "Detach a policy", {200: _deleted("Detached.")}, errors=[403, 404], params=[_KIND, _PRINCIPAL_NAME, _POLICY]),

    ("GET", "/registries/{registry}/members"): _op(
        "List who holds a role in a registry", {200: answer(obj({"members": array(_MEMBER_VIEW)}), "The members.")},
        errors=[403, 404], params=[_REGISTRY]),
    ("PUT", "/registries/{registry}/members/{ptype}/{name}"): _op(
        "Grant a role in a registry", {200: answer(_MEMBER_VIEW, "The role held now.")},
        errors=[403, 404], params=[_REGISTRY, _MEMBER_TYPE, _MEMBER],
        request=body(obj({"role": _ROLE}, additional=True), "The role.", {"role": "Developer"})),
    ("DELETE", "/registries/{registry}/members/{ptype}/{name}"): _op(
        "Take a role in a registry away",
        {200: answer(obj({"type": _MEMBER_TYPES, "name": string(), "role": {"type": "null"}}), "No role now.")},
        errors=[400, 403, 404], params=[_REGISTRY, _MEMBER_TYPE, _MEMBER]),

    ("GET", "/registries/{registry}/robots"): _op(
        "List a registry's robot accounts", {200: answer(obj({"robots": array(ref("Robot"))}), "The robots.")},
        errors=[403, 404], params=[_REGISTRY]),
    ("POST", "/registries/{registry}/robots"): _op(
        "Create a robot account", {201: answer(obj({**SCHEMAS["Robot"]["properties"], "secret": string()}),
                                               "The robot with its secret, shown this once.")},
        errors=[403, 404, 409], params=[_REGISTRY],
        request=body(obj({"name": _NAME, "role": nullable(_ROLE), "expires_in_days": nullable(integer(1, 3650)),
                          "description": string(maxLength=512)}, required=["name"], additional=True),
                     "The robot (other fields are ignored).",
                     {"name": "deploy", "role": "Developer", "expires_in_days": 90})),
    ("DELETE", "/registries/{registry}/robots/{name}"): _op(
        "Revoke a robot account", {200: answer(obj({"revoked": string()}), "The login that no longer works.")},
        errors=[400, 403, 404], params=[_REGISTRY, {**_ROBOT, "example": "old-ci"}]),
    ("PUT", "/registries/{registry}/robots/{name}/policies/{policy}"): _op(
        "Attach a policy to a robot", {200: answer(_NAMED_POLICY, "The policy, canonical.")},
        errors=[403, 404], params=[_REGISTRY, _ROBOT, _POLICY], request=_IAM,
        description="The policy may only name the robot's own registry's resources."),

    ("GET", "/registries/{registry}/policy"): _op(
        "A registry's resource policy", {200: answer(obj({"policy": nullable(ref("IamPolicyDocument"))}),
                                                     "The policy (null: none).")},
        errors=[400, 403, 404], params=[_REGISTRY]),
    ("PUT", "/registries/{registry}/policy"): _op(
        "Set a registry's resource policy", {200: answer(obj({"policy": ref("IamPolicyDocument")}),
                                                         "The policy, canonical.")},
        errors=[403, 404], params=[_REGISTRY], request=_IAM,
        description="Applies to anyone acting in the registry; it may only name the registry's own resources."),
    ("DELETE", "/registries/{registry}/policy"): _op(
        "Remove a registry's resource policy", {200: answer(obj({"policy": {"type": "null"}}), "Removed.")},
        errors=[400, 403, 404], params=[_REGISTRY]),
}
