"""IAM-style policy documents and their evaluation.

    {"Version": "2012-10-17",
     "Statement": [{"Sid": "...", "Effect": "Allow" | "Deny",
                    "Action": "repository:Pull" | ["repository:*", ...],
                    "Resource": "mrn:repository:acme/team/*" | [...],
                    "Condition": {"IpAddress": {"moorage:SourceIp": ["10.0.0.0/8"]}}}]}

Evaluation follows IAM: an explicit Deny wins, then an Allow, else the default deny.
Actions match case-insensitively, resources case-sensitively; `*` matches any run of
characters (slashes too) and `?` one character. Parsing refuses what could not match
anything (an unknown action such as `repository:Pul`, a resource outside the `mrn:`
namespaces, an unknown condition), so a typo is an error rather than a silent no-op.
"""
from __future__ import annotations

import functools
import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

VERSION = "2012-10-17"
IAM_RESOURCE = "mrn:iam:principals"  # users, groups and their policies
EVENTS_RESOURCE = "mrn:events:queues"  # the event pipeline's queues and dead letters
GC_RESOURCE = "mrn:gc:collector"  # garbage collection across every registry
VULNDB_RESOURCE = "mrn:vulndb:database"  # the vulnerability data every scan matches against
ACTIONS = frozenset({
    "registry:CreateRegistry", "registry:DeleteRegistry", "registry:DescribeRegistry",
    "registry:UpdateRegistry", "registry:ManageAccess",
    "repository:Pull", "repository:Push", "repository:Delete", "repository:ManagePolicy",
    "scan:Read", "scan:Start", "audit:Read", "billing:Read", "iam:ManagePrincipals", "events:Manage",
    "gc:Run", "vulndb:Import",
})
_RESOURCE_PREFIXES = ("mrn:registry:", "mrn:repository:", IAM_RESOURCE, EVENTS_RESOURCE, GC_RESOURCE,
                      VULNDB_RESOURCE)
_MAX_STATEMENTS = 100
_MAX_DOCUMENT = 20 * 1024


def registry_resource(registry: str) -> str:
    return f"mrn:registry:{registry}"


def repository_resource(registry: str, repository: str) -> str:
    return f"mrn:repository:{registry}/{repository}"


class PolicyError(ValueError):
    """A document that is not a valid policy; the message says where and why."""


@dataclass(frozen=True)
class RequestContext:
    """The facts conditions can test."""
    source_ip: str
    now: datetime
    principal: str       # the subject: "user:alice"
    principal_type: str  # "user" | "robot" | "federated" | "anonymous"

    def value(self, key: str) -> str | datetime:
        return {"moorage:sourceip": self.source_ip, "moorage:currenttime": self.now,
                "moorage:principal": self.principal, "moorage:principaltype": self.principal_type}[key.lower()]


@dataclass(frozen=True)
class Condition:
    operator: str             # as written, e.g. "IpAddress"
    key: str                  # e.g. "moorage:SourceIp"
    values: tuple[str, ...]

    def holds(self, context: RequestContext) -> bool:
        return _OPERATORS[self.operator.lower()].test(context.value(self.key), self.values)


@dataclass(frozen=True)
class Statement:
    effect: str                   # "Allow" | "Deny"
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: tuple[Condition, ...] = ()
    sid: str | None = None

    def applies(self, action: str, resource: str, context: RequestContext) -> bool:
        return (any(_pattern(a, True).fullmatch(action) for a in self.actions)
                and any(_pattern(r, False).fullmatch(resource) for r in self.resources)
                and all(c.holds(context) for c in self.conditions))


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # "explicit deny" | "allowed" | "no statement allows"


def evaluate(policies: list[Policy], action: str, resource: str, context: RequestContext) -> Decision:
    statements = [s for p in policies for s in p.statements if s.applies(action, resource, context)]
    if any(s.effect == "Deny" for s in statements):
        return Decision(False, "explicit deny")
    if statements:
        return Decision(True, "allowed")
    return Decision(False, "no statement allows")


# ---- parsing ---------------------------------------------------------------------------

def parse_policy(document: str | bytes) -> Policy:
    if len(document) > _MAX_DOCUMENT:
        raise PolicyError(f"a policy document is at most {_MAX_DOCUMENT} bytes")
    try:
        data = json.loads(document)
    except ValueError:
        raise PolicyError("the policy is not valid JSON") from None
    if not isinstance(data, dict):
        raise PolicyError("a policy is a JSON object with a 'Statement' list")
    unknown = set(data) - {"Version", "Statement", "Id"}
    if unknown:
        raise PolicyError(f"unknown policy field(s): {', '.join(sorted(unknown))}")
    if data.get("Version", VERSION) != VERSION:
        raise PolicyError(f"'Version' must be {VERSION!r}")
    statements = data.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or len(statements) > _MAX_STATEMENTS:
        raise PolicyError(f"'Statement' must be a list of at most {_MAX_STATEMENTS} statements")
    policy = Policy(tuple(_statement(s, i) for i, s in enumerate(statements)))
    # The canonical form is what is stored and parsed again on every request, so it must fit
    # too (lists, the added Version and ASCII escapes make it longer than what was sent).
    if len(json.dumps(policy_document(policy))) > _MAX_DOCUMENT:
        raise PolicyError(f"a policy document is at most {_MAX_DOCUMENT} bytes (in its canonical form)")
    return policy


def _statement(data: object, index: int) -> Statement:
    where = f"Statement[{index}]"
    if not isinstance(data, dict):
        raise PolicyError(f"{where} must be an object")
    unknown = set(data) - {"Sid", "Effect", "Action", "Resource", "Condition"}
    if unknown:
        raise PolicyError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} (NotAction and "
                          "NotResource are not supported)")
    if data.get("Effect") not in ("Allow", "Deny"):
        raise PolicyError(f"{where}.Effect must be 'Allow' or 'Deny'")
    sid = data.get("Sid")
    if sid is not None and not (isinstance(sid, str) and re.fullmatch(r"[A-Za-z0-9]{1,128}", sid)):
        raise PolicyError(f"{where}.Sid must be 1-128 letters and digits")
    actions = _strings(data.get("Action"), f"{where}.Action")
    for action in actions:
        if not any(_pattern(action, True).fullmatch(known) for known in ACTIONS):
            raise PolicyError(f"{where}.Action {action!r} matches no action; known actions: "
                              f"{', '.join(sorted(ACTIONS))}")
    resources = _strings(data.get("Resource"), f"{where}.Resource")
    for resource in resources:
        if resource != "*" and not resource.startswith(_RESOURCE_PREFIXES):
            raise PolicyError(f"{where}.Resource {resource!r} must be '*' or start with "
                              f"{', '.join(_RESOURCE_PREFIXES)}")
    return Statement(data["Effect"], actions, resources, _conditions(data.get("Condition"), where), sid)


def _strings(value: object, where: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and 0 < len(v) <= 512
                                                                for v in values):
        raise PolicyError(f"{where} must be a non-empty string or list of strings")
    return tuple(values)


def _conditions(data: object, where: str) -> tuple[Condition, ...]:
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise PolicyError(f"{where}.Condition must be an object of operators")
    found = []
    for operator, tests in data.items():
        if operator.lower() not in _OPERATORS:
            raise PolicyError(f"{where}.Condition: unknown operator {operator!r}; supported: "
                              f"{', '.join(sorted(op.name for op in _OPERATORS.values()))}")
        if not isinstance(tests, dict) or not tests:
            raise PolicyError(f"{where}.Condition.{operator} must map condition keys to values")
        check = _OPERATORS[operator.lower()].validate
        for key, value in tests.items():
            if key.lower() not in _KEYS:
                raise PolicyError(f"{where}.Condition.{operator}: unknown key {key!r}; supported: "
                                  f"{', '.join(sorted(_KEYS.values()))}")
            values = _strings(value, f"{where}.Condition.{operator}.{key}")
            try:
                check(key.lower(), values)
            except ValueError as error:
                raise PolicyError(f"{where}.Condition.{operator}.{key}: {error}") from None
            found.append(Condition(operator, key, values))
    return tuple(found)


# ---- condition operators ---------------------------------------------------------------

@dataclass(frozen=True)
class _Operator:
    name: str
    validate: Callable[[str, tuple[str, ...]], None]  # (lower-case key, values); ValueError
    test: Callable[[object, tuple[str, ...]], bool]    # (the context's value, values)


_KEYS = {"moorage:sourceip": "moorage:SourceIp", "moorage:currenttime": "moorage:CurrentTime",
         "moorage:principal": "moorage:Principal", "moorage:principaltype": "moorage:PrincipalType"}


def _need_key(keys: set[str]):
    def check(key: str, values: tuple[str, ...]) -> None:
        if key not in keys:
            raise ValueError(f"this operator tests {' or '.join(_KEYS[k] for k in sorted(keys))}")
    return check


def _check_networks(key: str, values: tuple[str, ...]) -> None:
    _need_key({"moorage:sourceip"})(key, values)
    for value in values:
        ipaddress.ip_network(value, strict=False)  # ValueError names the bad value


def _check_times(key: str, values: tuple[str, ...]) -> None:
    _need_key({"moorage:currenttime"})(key, values)
    for value in values:
        if _parse_time(value).tzinfo is None:
            raise ValueError(f"{value!r} needs a time zone (e.g. 2027-01-01T00:00:00Z)")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _in_networks(actual: str, values: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(actual)
    except ValueError:
        return False  # no usable source address: an IP condition cannot hold
    return any(address in ipaddress.ip_network(v, strict=False) for v in values)


_STRING_KEYS = _need_key({"moorage:principal", "moorage:principaltype"})
_OPERATORS = {op.name.lower(): op for op in (
    _Operator("IpAddress", _check_networks, _in_networks),
    _Operator("NotIpAddress", _check_networks, lambda a, v: not _in_networks(a, v)),
    _Operator("DateLessThan", _check_times, lambda a, v: any(a < _parse_time(t) for t in v)),
    _Operator("DateGreaterThan", _check_times, lambda a, v: any(a > _parse_time(t) for t in v)),
    _Operator("StringEquals", _STRING_KEYS, lambda a, v: a in v),
    _Operator("StringNotEquals", _STRING_KEYS, lambda a, v: a not in v),
    _Operator("StringLike", _STRING_KEYS, lambda a, v: any(_pattern(p, False).fullmatch(a) for p in v)),
)}


# ---- rendering -------------------------------------------------------------------------

def policy_document(policy: Policy) -> dict:
    """The canonical JSON form of a parsed policy (lists everywhere, Version set)."""
    statements = []
    for s in policy.statements:
        item: dict = {"Effect": s.effect, "Action": list(s.actions), "Resource": list(s.resources)}
        if s.sid:
            item = {"Sid": s.sid, **item}
        if s.conditions:
            conditions: dict = {}
            for c in s.conditions:
                conditions.setdefault(c.operator, {})[c.key] = list(c.values)
            item["Condition"] = conditions
        statements.append(item)
    return {"Version": VERSION, "Statement": statements}


@functools.lru_cache(maxsize=4096)
def _pattern(text: str, ignore_case: bool) -> re.Pattern:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in text)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)
