"""Built-in roles: a role held in a registry is a policy over that registry's resources.

| role          | pull | push | delete | manage repository policy | scans        | audit | billing | manage access, update, delete registry |
|---------------|------|------|--------|--------------------------|--------------|-------|---------|----------------------------------------|
| RegistryAdmin | yes  | yes  | yes    | yes                      | read, start  | read  | read    | yes                                    |
| Maintainer    | yes  | yes  | yes    | yes                      | read, start  |       |         |                                        |
| Developer     | yes  | yes  |        |                          | read         |       |         |                                        |
| Guest         | yes  |      |        |                          | read         |       |         |                                        |
| Auditor       |      |      |        |                          | read         | read  |         |                                        |
| BillingViewer |      |      |        |                          |              |       | read    |                                        |

Every role may describe its registry. Creating registries and managing users and groups
are deployment-wide (policies on `*` and `mrn:iam:principals`), never part of a role.
"""
from __future__ import annotations

from .policy import Policy, Statement, registry_resource

_ROLE_ACTIONS: dict[str, tuple[str, ...]] = {
    "RegistryAdmin": ("registry:DescribeRegistry", "registry:UpdateRegistry", "registry:DeleteRegistry",
                      "registry:ManageAccess", "repository:*", "scan:*", "audit:Read", "billing:Read"),
    "Maintainer": ("registry:DescribeRegistry", "repository:*", "scan:*"),
    "Developer": ("registry:DescribeRegistry", "repository:Pull", "repository:Push", "scan:Read"),
    "Guest": ("registry:DescribeRegistry", "repository:Pull", "scan:Read"),
    "Auditor": ("registry:DescribeRegistry", "scan:Read", "audit:Read"),
    "BillingViewer": ("registry:DescribeRegistry", "billing:Read"),
}
ROLES = tuple(_ROLE_ACTIONS)
_BY_LOWER = {name.lower(): name for name in ROLES}


def parse_role(text: str) -> str:
    """The canonical name of a built-in role (matched case-insensitively)."""
    try:
        return _BY_LOWER[text.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown role {str(text)[:64]!r}; roles: {', '.join(ROLES)}") from None


def role_policy(role: str, registry: str) -> Policy:
    resources = (registry_resource(registry), f"mrn:repository:{registry}/*")
    return Policy((Statement("Allow", _ROLE_ACTIONS[parse_role(role)], resources, sid=f"Role{parse_role(role)}"),))


def public_pull_policy(registry: str) -> Policy:
    """What a public registry grants everyone, anonymous callers included."""
    return Policy((Statement("Allow", ("repository:Pull",), (f"mrn:repository:{registry}/*",), sid="PublicPull"),))
