"""Scopes of the docker token spec: what a client asks the token endpoint for, what the
issued token's `access` claim grants, and the `WWW-Authenticate` challenge naming them.

    scope         := resourcetype ":" resourcename ":" action [ "," action ]*
    resourcetype  := resourcetypevalue [ "(" resourcetypevalue ")" ]
    resourcename  := [ hostname "/" ] component [ "/" component ]*

The resource name may itself contain ':' (a host with a port), so the type ends at the
first ':' and the actions start after the last one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

from chalicelib.oci import OciError, RepoName

from .policy import repository_resource

# Registry actions a token can carry, and the policy action each one needs.
REPOSITORY_ACTIONS = {"pull": "repository:Pull", "push": "repository:Push", "delete": "repository:Delete"}
_TYPE = re.compile(r"[a-z0-9]+(?:\([a-z0-9]+\))?")
_ACTION = re.compile(r"[a-z*]+")
MAX_SCOPES = 64  # one token request naming more is refused, not processed


class ScopeError(ValueError):
    """A scope the token endpoint cannot parse (400 INVALID_SCOPE)."""


@dataclass(frozen=True)
class Scope:
    type: str                 # "repository" or "registry"
    name: str                 # "acme/team/app", or "catalog"
    actions: tuple[str, ...]  # in the order asked, without duplicates

    def text(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


def parse_scope(text: str) -> Scope:
    resource_type, sep, rest = text.partition(":")
    name, sep2, actions_text = rest.rpartition(":")
    if not (sep and sep2 and _TYPE.fullmatch(resource_type) and name):
        raise ScopeError(f"invalid scope {text[:128]!r}: expected type:name:action[,action]")
    actions = tuple(dict.fromkeys(a for a in actions_text.split(",") if a))
    if not actions or not all(_ACTION.fullmatch(a) for a in actions):
        raise ScopeError(f"invalid actions in scope {text[:128]!r}")
    base_type = resource_type.split("(", 1)[0]
    if base_type == "repository":
        try:
            RepoName.parse(name)
        except OciError as error:
            raise ScopeError(f"invalid repository in scope {text[:128]!r}: {error.message}") from None
    elif base_type != "registry":
        raise ScopeError(f"unknown resource type {resource_type[:32]!r} (repository or registry)")
    return Scope(base_type, name, actions)


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Every scope named by `values` (each may hold several, space-separated, as OAuth2
    does), merged per resource."""
    merged: dict[tuple[str, str], tuple[str, ...]] = {}
    for value in values:
        for text in value.split():
            scope = parse_scope(text)
            key = (scope.type, scope.name)
            merged[key] = tuple(dict.fromkeys(merged.get(key, ()) + scope.actions))
            if len(merged) > MAX_SCOPES:
                raise ScopeError(f"at most {MAX_SCOPES} scopes per token request")
    return [Scope(t, n, a) for (t, n), a in merged.items()]


def split_repository(name: str) -> tuple[str, str]:
    """`acme/team/app` -> (`acme`, `team/app`): the registry is the first component."""
    registry, _, repository = name.partition("/")
    return registry, repository


def granted_access(scopes: list[Scope], allowed: Callable[[str, str], bool]) -> list[dict]:
    """The token's `access` claim: each scope asked for, with the actions that
    `allowed(action, resource)` permits (possibly none, as the token spec shows a refusal)."""
    access = []
    for scope in scopes:
        if scope.type == "repository":
            resource = repository_resource(*split_repository(scope.name))
            wanted = list(REPOSITORY_ACTIONS) if "*" in scope.actions else scope.actions
            actions = [a for a in wanted if a in REPOSITORY_ACTIONS and allowed(REPOSITORY_ACTIONS[a], resource)]
        elif scope.name == "catalog":
            # Anyone may list; the catalog shows only the repositories the caller may pull.
            actions = ["*"] if "*" in scope.actions else []
        else:
            actions = []
        access.append({"type": scope.type, "name": scope.name, "actions": actions})
    return access


def access_allows(access: Iterable[dict], resource_type: str, name: str, action: str) -> bool:
    """Whether a token's `access` claim grants `action` on the resource."""
    return any(isinstance(entry, dict) and entry.get("type") == resource_type and entry.get("name") == name
               and (action in entry.get("actions", ()) or "*" in entry.get("actions", ()))
               for entry in access)


def challenge(realm: str, service: str, scope: Scope | None = None, error: str | None = None) -> str:
    """The `WWW-Authenticate: Bearer …` header of a 401 (RFC 6750 section 3)."""
    params = [("realm", realm), ("service", service)]
    if scope is not None:
        params.append(("scope", scope.text()))
    if error is not None:
        params.append(("error", error))
    return "Bearer " + ",".join(f'{k}="{_quote(v)}"' for k, v in params)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
