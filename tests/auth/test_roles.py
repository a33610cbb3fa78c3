"""Built-in roles: what each allows in its own registry (a full role x action matrix,
checked through policy.evaluate), that nothing leaks to other registries or to
deployment-wide actions, role names, and that the module's documented table says the same."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.auth import policy, roles
from chalicelib.auth.policy import RequestContext, evaluate
from chalicelib.auth.roles import parse_role, role_policy

CONTEXT = RequestContext(source_ip="10.0.0.1", now=datetime(2026, 1, 1, tzinfo=timezone.utc),
                         principal="user:alice", principal_type="user")

ALL_ACTIONS = (
    "registry:CreateRegistry", "registry:DeleteRegistry", "registry:DescribeRegistry",
    "registry:UpdateRegistry", "registry:ManageAccess",
    "repository:Pull", "repository:Push", "repository:Delete", "repository:ManagePolicy",
    "scan:Read", "scan:Start", "audit:Read", "billing:Read", "iam:ManagePrincipals", "events:Manage",
    "gc:Run", "vulndb:Import",
)

# What each role allows in registry "acme", written out (not taken from roles.py).
EXPECTED = {
    "RegistryAdmin": {"registry:DescribeRegistry", "registry:UpdateRegistry", "registry:DeleteRegistry",
                      "registry:ManageAccess", "repository:Pull", "repository:Push", "repository:Delete",
                      "repository:ManagePolicy", "scan:Read", "scan:Start", "audit:Read", "billing:Read"},
    "Maintainer": {"registry:DescribeRegistry", "repository:Pull", "repository:Push", "repository:Delete",
                   "repository:ManagePolicy", "scan:Read", "scan:Start"},
    "Developer": {"registry:DescribeRegistry", "repository:Pull", "repository:Push", "scan:Read"},
    "Guest": {"registry:DescribeRegistry", "repository:Pull", "scan:Read"},
    "Auditor": {"registry:DescribeRegistry", "scan:Read", "audit:Read"},
    "BillingViewer": {"registry:DescribeRegistry", "billing:Read"},
}

# How the docstring's table cells read as actions: (column, word) -> actions.
DOC_CELLS = {
    ("pull", "yes"): {"repository:Pull"},
    ("push", "yes"): {"repository:Push"},
    ("delete", "yes"): {"repository:Delete"},
    ("manage repository policy", "yes"): {"repository:ManagePolicy"},
    ("scans", "read"): {"scan:Read"},
    ("scans", "start"): {"scan:Start"},
    ("audit", "read"): {"audit:Read"},
    ("billing", "read"): {"billing:Read"},
    ("manage access, update, delete registry", "yes"):
        {"registry:ManageAccess", "registry:UpdateRegistry", "registry:DeleteRegistry"},
}


def resource_for(action: str) -> str:
    """The role's own resource an action is checked on."""
    if action.startswith("registry:"):
        return "mrn:registry:acme"
    if action.startswith("iam:"):
        return "mrn:iam:principals"
    if action.startswith("events:"):
        return "mrn:events:queues"
    if action.startswith("gc:"):
        return "mrn:gc:collector"
    if action.startswith("vulndb:"):
        return "mrn:vulndb:database"
    return "mrn:repository:acme/team/app"


def allows(role: str, action: str, resource: str, registry: str = "acme") -> bool:
    return evaluate([role_policy(role, registry)], action, resource, CONTEXT).allowed


def documented_table() -> dict[str, set[str]]:
    """The role table of roles.__doc__, read as role -> actions."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in roles.__doc__.splitlines() if line.strip().startswith("|")]
    header, separator, *body = rows
    assert header[0] == "role" and set("".join(separator)) <= {"-"}
    table = {}
    for name, *cells in body:
        actions = {"registry:DescribeRegistry"}  # "Every role may describe its registry."
        for column, cell in zip(header[1:], cells, strict=True):
            for word in filter(None, (w.strip() for w in cell.split(","))):
                actions |= DOC_CELLS[(column, word)]
        table[name] = actions
    return table


def test_the_matrix_covers_every_action_and_role():
    assert set(ALL_ACTIONS) == policy.ACTIONS
    assert set(EXPECTED) == set(roles.ROLES) == {
        "RegistryAdmin", "Maintainer", "Developer", "Guest", "Auditor", "BillingViewer"}


@pytest.mark.parametrize("action", ALL_ACTIONS)
@pytest.mark.parametrize("role", list(EXPECTED))
def test_role_matrix(role, action):
    assert allows(role, action, resource_for(action)) is (action in EXPECTED[role])


@pytest.mark.parametrize("role", list(EXPECTED))
def test_repository_grants_cover_every_repository_of_the_registry(role):
    for resource in ["mrn:repository:acme/app", "mrn:repository:acme/team/app/web/v2"]:
        assert allows(role, "repository:Pull", resource) is ("repository:Pull" in EXPECTED[role])
        assert allows(role, "scan:Read", resource) is ("scan:Read" in EXPECTED[role])


@pytest.mark.parametrize("resource", ["mrn:repository:other/x", "mrn:registry:other", "mrn:repository:acmeco/x",
                                      "mrn:registry:acmeco", "mrn:registry:acm", "mrn:repository:Acme/x",
                                      "mrn:repository:other/acme/x", "mrn:iam:principals", "*"])
@pytest.mark.parametrize("role", list(EXPECTED))
def test_a_role_allows_nothing_outside_its_registry(role, resource):
    assert [a for a in ALL_ACTIONS if allows(role, a, resource)] == []


@pytest.mark.parametrize("role", list(EXPECTED))
def test_a_role_in_one_registry_says_nothing_about_another(role):
    assert allows(role, "registry:DescribeRegistry", "mrn:registry:other", registry="other")
    assert not allows(role, "registry:DescribeRegistry", "mrn:registry:acme", registry="other")


@pytest.mark.parametrize("resource", ["mrn:registry:acme", "mrn:repository:acme/team/app", "mrn:iam:principals", "*"])
@pytest.mark.parametrize("role", list(EXPECTED))
def test_deployment_wide_actions_are_never_part_of_a_role(role, resource):
    assert not allows(role, "registry:CreateRegistry", resource)
    assert not allows(role, "iam:ManagePrincipals", resource)


@pytest.mark.parametrize("text, canonical", [
    ("RegistryAdmin", "RegistryAdmin"), ("registryadmin", "RegistryAdmin"), ("REGISTRYADMIN", "RegistryAdmin"),
    ("maintainer", "Maintainer"), ("DEVELOPER", "Developer"), ("gUeSt", "Guest"), ("auditor", "Auditor"),
    ("billingviewer", "BillingViewer"),
])
def test_parse_role_is_case_insensitive(text, canonical):
    assert parse_role(text) == canonical
    assert allows(text, "registry:DescribeRegistry", "mrn:registry:acme")  # role_policy takes any case


@pytest.mark.parametrize("text", ["Owner", "", "admin", "Guest ", "Registry Admin", None, 3])
def test_parse_role_refuses_unknown_names_listing_the_roles(text):
    with pytest.raises(ValueError) as caught:
        parse_role(text)
    assert ("unknown role" in str(caught.value)
            and "roles: RegistryAdmin, Maintainer, Developer, Guest, Auditor, BillingViewer" in str(caught.value))


def test_an_unknown_role_has_no_policy():
    with pytest.raises(ValueError, match="unknown role"):
        role_policy("Owner", "acme")


def test_the_documented_table_matches_the_expected_table():
    assert "Every role may describe its registry" in roles.__doc__
    assert documented_table() == EXPECTED
