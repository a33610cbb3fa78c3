"""Who a caller is (Identity), how they prove it (authenticate), and what is attached to
them (effective_policies): users, groups, robot accounts and IdP-federated users."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta

from chalicelib.clock import Clock
from chalicelib.oci import parse_registry_name
from chalicelib.store.ports import PrincipalExists, PrincipalRecord

from . import passwords
from .policy import IAM_RESOURCE, Policy, PolicyError, parse_policy, policy_document
from .roles import public_pull_policy, parse_role, role_policy

ROBOT_PREFIX = "robot$"  # robot logins look like Harbor's: robot$<registry>+<name>
_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$")
_POLICY_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,128}$")
ADMIN_POLICY = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class InvalidArgument(ValueError):
    """Bad input to a management call: the message says what and why."""


@dataclass(frozen=True)
class Identity:
    """An authenticated caller. `subject` is what tokens and audit records carry."""
    ptype: str  # "user" | "robot" | "federated" | "anonymous"
    name: str
    groups: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        return "anonymous" if self.ptype == "anonymous" else f"{self.ptype}:{self.name}"

    @property
    def robot_registry(self) -> str | None:
        return self.name.split("+", 1)[0] if self.ptype == "robot" else None

    @classmethod
    def from_subject(cls, subject: str, groups: tuple[str, ...] = ()) -> "Identity":
        ptype, _, name = subject.partition(":")
        if subject == "anonymous":
            return ANONYMOUS
        if ptype not in ("user", "robot", "federated") or not name:
            raise ValueError(f"not a principal subject: {subject[:64]!r}")
        return cls(ptype, name, groups)


ANONYMOUS = Identity("anonymous", "anonymous")


def check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidArgument(f"invalid {kind} name {str(name)[:80]!r}: use 1-64 lower-case letters, digits, "
                              "'.', '_' or '-', starting and ending with a letter or digit")
    return name


def check_policy_name(name: object) -> str:
    if not isinstance(name, str) or not _POLICY_NAME.match(name):
        raise InvalidArgument(f"invalid policy name {str(name)[:80]!r}: 1-128 of A-Z a-z 0-9 + = , . @ _ -")
    return name


def robot_login(registry: str, name: str) -> str:
    return f"{ROBOT_PREFIX}{registry}+{name}"


class PrincipalService:
    def __init__(self, store, clock: Clock, registries, oidc=None):
        self._store = store
        self._clock = clock
        self._registries = registries
        self._oidc = oidc  # OidcVerifier, when IdPs are configured

    # ---- authentication ---------------------------------------------------------------

    def authenticate(self, username: str, secret: str) -> Identity | None:
        """The identity behind Basic credentials, or None. An IdP's ID token is accepted as
        the password of any username (the token names the user)."""
        if self._oidc is not None and self._oidc.looks_like_id_token(secret):
            return self.federated(secret)
        if username.startswith(ROBOT_PREFIX):
            record = self._store.get("robot", username[len(ROBOT_PREFIX):])
        else:
            record = self._store.get("user", username)
        if record is None or not self.active(record):
            passwords.verify_secret(secret, None)
            return None
        if not passwords.verify_secret(secret, record.secret_hash):
            return None
        return Identity(record.ptype, record.name, record.groups)

    def federated(self, id_token: str) -> Identity | None:
        from .oidc import OidcError  # only deployments with IdPs load the JWKS client

        try:
            found = self._oidc.verify(id_token)
        except OidcError:
            return None
        return Identity("federated", found.username, tuple(found.groups))

    def active(self, record: PrincipalRecord) -> bool:
        expired = record.expires_at is not None and record.expires_at <= self._clock.now()
        return not record.disabled and not expired

    def still_valid(self, identity: Identity) -> bool:
        """Whether an identity from an earlier token may still act (robots can be revoked)."""
        if identity.ptype in ("anonymous", "federated"):
            return True
        record = self._store.get(identity.ptype, identity.name)
        return record is not None and self.active(record)

    # ---- what is attached -------------------------------------------------------------

    def effective_policies(self, identity: Identity, registries: set[str]) -> list[Policy]:
        """Every policy that applies to `identity` acting in `registries`: its own, its roles,
        its groups', and the registries' resource policies (which apply to anyone)."""
        records = []
        if identity.ptype in ("user", "robot"):
            own = self._store.get(identity.ptype, identity.name)
            records.append(own)
        elif identity.ptype == "federated":  # a local user of the same name adds its grants
            records.append(self._store.get("user", identity.name))
        groups = set(identity.groups)
        for record in records:
            if record is not None:
                groups.update(record.groups)
        records.extend(self._store.get("group", g) for g in sorted(groups))
        found: list[Policy] = []
        for record in filter(None, records):
            found.extend(_attached(record))
        for registry in sorted(registries):
            document, visibility = self._store.registry_access(registry)
            if document:
                found.append(parse_policy(document))
            if visibility == "public":
                found.append(public_pull_policy(registry))
        return found

    # ---- management -------------------------------------------------------------------

    def create_user(self, name: str, password: str, actor: str, groups=(), admin: bool = False) -> PrincipalRecord:
        check_name("user", name)
        try:
            passwords.check_password_strength(password)
        except ValueError as error:
            raise InvalidArgument(str(error)) from None
        checked = sorted({check_name("group", g) for g in groups})
        for group in checked:  # checked before anything is written: no user half made
            if self._store.get("group", group) is None:
                raise InvalidArgument(f"group '{group}' does not exist")
        policies = {"AdministratorAccess": json.dumps(ADMIN_POLICY)} if admin else {}
        return self._store.create(PrincipalRecord(
            "user", name, self._clock.now(), secret_hash=passwords.hash_password(password),
            groups=tuple(checked), policies=policies), actor)

    def set_password(self, name: str, password: str, actor: str) -> None:
        try:
            passwords.check_password_strength(password)
        except ValueError as error:
            raise InvalidArgument(str(error)) from None
        hashed = passwords.hash_password(password)
        self._store.update("user", name, lambda item: setattr(item, "secret_hash", hashed), actor, self._clock.now())

    def set_groups(self, name: str, groups: list[str], actor: str) -> PrincipalRecord:
        if not isinstance(groups, list):
            raise InvalidArgument("'groups' must be a list of group names")
        checked = sorted({check_name("group", g) for g in groups})
        for group in checked:
            if self._store.get("group", group) is None:
                raise InvalidArgument(f"group '{group}' does not exist")
        return self._store.update("user", name, lambda item: setattr(item, "groups", checked), actor,
                                  self._clock.now())

    def create_group(self, name: str, actor: str) -> PrincipalRecord:
        return self._store.create(PrincipalRecord("group", check_name("group", name), self._clock.now()), actor)

    def create_robot(self, registry: str, name: str, actor: str, role: str | None = None,
                     expires_in_days: int | None = None, description: str = "") -> tuple[PrincipalRecord, str]:
        """A robot account of `registry`; returns it with its secret (shown once, not stored)."""
        self._registries.require(parse_registry_name(registry))
        check_name("robot", name)
        roles = {registry: parse_role_arg(role)} if role else {}
        expires_at = None
        if expires_in_days is not None:
            if not isinstance(expires_in_days, int) or isinstance(expires_in_days, bool) \
                    or not 1 <= expires_in_days <= 3650:
                raise InvalidArgument("'expires_in_days' must be a whole number of days from 1 to 3650")
            expires_at = self._clock.now() + timedelta(days=expires_in_days)
        if not isinstance(description, str) or len(description) > 512:
            raise InvalidArgument("'description' must be a string of at most 512 characters")
        secret, hashed = passwords.new_robot_secret()
        record = self._store.create(PrincipalRecord(
            "robot", f"{registry}+{name}", self._clock.now(), secret_hash=hashed, registry=registry,
            roles=roles, expires_at=expires_at, description=description), actor)
        return record, secret

    def revoke_robot(self, registry: str, name: str, actor: str) -> None:
        self._store.delete("robot", f"{registry}+{check_name('robot', name)}", actor)

    def robots(self, registry: str) -> list[PrincipalRecord]:
        return [r for r in self._store.list("robot") if r.registry == registry]

    def put_policy(self, ptype: str, name: str, policy_name: str, document: object, actor: str) -> dict:
        check_policy_name(policy_name)
        try:
            policy = parse_policy(document if isinstance(document, (str, bytes)) else json.dumps(document))
        except PolicyError as error:
            raise InvalidArgument(f"invalid policy: {error}") from None
        if ptype == "robot":
            _confine_to_registry(policy, name.split("+", 1)[0])
        text = json.dumps(policy_document(policy), sort_keys=True)

        def change(item):
            item.policies = {**(item.policies or {}), policy_name: text}
        self._store.update(ptype, name, change, actor, self._clock.now())
        return policy_document(policy)

    def delete_policy(self, ptype: str, name: str, policy_name: str, actor: str) -> None:
        def change(item):
            if policy_name not in (item.policies or {}):
                raise KeyError(policy_name)
            item.policies = {k: v for k, v in item.policies.items() if k != policy_name}
        self._store.update(ptype, name, change, actor, self._clock.now())

    def set_role(self, ptype: str, name: str, registry: str, role: str | None, actor: str) -> PrincipalRecord:
        """Grant a built-in role in `registry` (None removes it)."""
        self._registries.require(parse_registry_name(registry))
        canonical = parse_role_arg(role) if role is not None else None
        if ptype == "robot" and registry != name.split("+", 1)[0]:
            raise InvalidArgument(f"robot '{name}' belongs to another registry than '{registry}'")

        def change(item):
            roles = {k: v for k, v in (item.roles or {}).items() if k != registry}
            item.roles = {**roles, registry: canonical} if canonical else roles
        return self._store.update(ptype, name, change, actor, self._clock.now())

    def set_registry_policy(self, registry: str, document: object | None, actor: str) -> dict | None:
        self._registries.require(parse_registry_name(registry))
        if document is None:
            self._store.set_registry_policy(registry, None, actor, self._clock.now())
            return None
        try:
            policy = parse_policy(document if isinstance(document, (str, bytes)) else json.dumps(document))
        except PolicyError as error:
            raise InvalidArgument(f"invalid policy: {error}") from None
        _confine_to_registry(policy, registry)
        canonical = policy_document(policy)
        self._store.set_registry_policy(registry, json.dumps(canonical, sort_keys=True), actor, self._clock.now())
        return canonical

    def registry_policy(self, registry: str) -> dict | None:
        self._registries.require(parse_registry_name(registry))
        text = self._store.registry_policy(registry)
        return json.loads(text) if text else None

    def get(self, ptype: str, name: str) -> PrincipalRecord | None:
        return self._store.get(ptype, name)

    def list(self, ptype: str) -> list[PrincipalRecord]:
        return self._store.list(ptype)

    def delete(self, ptype: str, name: str, actor: str = "system") -> None:
        self._store.delete(ptype, name, actor)

    def members(self, registry: str) -> list[tuple[PrincipalRecord, str]]:
        """Principals holding a role in `registry`, with the role."""
        return [(r, r.roles[registry]) for ptype in ("user", "group", "robot")
                for r in self._store.list(ptype) if registry in r.roles]

    def forget_registry(self, registry: str, actor: str) -> None:
        """A deleted registry's robots go, and nobody holds a role in it any more."""
        for robot in self.robots(registry):
            self._store.delete("robot", robot.name, actor)

        def change(item):
            item.roles = {k: v for k, v in (item.roles or {}).items() if k != registry}
        for ptype in ("user", "group"):
            for record in self._store.list(ptype):
                if registry in record.roles:
                    self._store.update(ptype, record.name, change, actor, self._clock.now())

    def ensure_admin(self, name: str, password: str) -> bool:
        """Create the first administrator unless a user of that name exists; True if created."""
        try:
            self.create_user(name, password, "bootstrap", admin=True)
        except PrincipalExists:
            return False
        return True


def parse_role_arg(role: object) -> str:
    try:
        return parse_role(role if isinstance(role, str) else "")
    except ValueError as error:
        raise InvalidArgument(str(error)) from None


def _attached(record: PrincipalRecord) -> list[Policy]:
    policies = [parse_policy(text) for _, text in sorted(record.policies.items())]
    policies.extend(role_policy(role, registry) for registry, role in sorted(record.roles.items()))
    return policies


def _confine_to_registry(policy: Policy, registry: str) -> None:
    """Robot and registry policies may only name their own registry's resources."""
    allowed = (f"mrn:registry:{registry}", f"mrn:repository:{registry}/")
    for statement in policy.statements:
        for resource in statement.resources:
            if not (resource == allowed[0] or resource.startswith(allowed[1])):
                raise InvalidArgument(f"resource {resource!r} is outside registry '{registry}'; "
                                      f"use mrn:registry:{registry} or mrn:repository:{registry}/…")
    if any(r == IAM_RESOURCE for s in policy.statements for r in s.resources):
        raise InvalidArgument("iam resources cannot be granted here")


def describe(record: PrincipalRecord) -> dict:
    """The public view of a principal (never its secret hash)."""
    view = {"type": record.ptype, "name": record.name, "created_at": record.created_at.isoformat(),
            "roles": dict(sorted(record.roles.items())), "policies": sorted(record.policies)}
    if record.ptype == "user":
        view["groups"] = list(record.groups)
    if record.ptype == "robot":
        view.update(registry=record.registry, login=ROBOT_PREFIX + record.name, description=record.description,
                    expires_at=record.expires_at.isoformat() if record.expires_at else None)
    return view
