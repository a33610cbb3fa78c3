"""Docker token scopes: parsing what a client asks for, the `access` claim granted for it,
reading that claim back, and the `WWW-Authenticate` challenge."""
from __future__ import annotations

import pytest

from chalicelib.auth.scopes import (MAX_SCOPES, Scope, ScopeError, access_allows, challenge, granted_access,
                                    parse_scope, parse_scopes, split_repository)


def refused(*values: str) -> str:
    """The ScopeError message parse_scopes gives for `values`."""
    with pytest.raises(ScopeError) as caught:
        parse_scopes(values)
    return str(caught.value)


def allowing(*pairs: tuple[str, str]):
    """An `allowed(action, resource)` that permits exactly `pairs`, recording every question."""
    asked = []

    def allowed(action: str, resource: str) -> bool:
        asked.append((action, resource))
        return (action, resource) in pairs
    allowed.asked = asked
    return allowed


def nothing(action: str, resource: str) -> bool:
    return False


def everything(action: str, resource: str) -> bool:
    return True


APP = "mrn:repository:acme/team/app"


# ---- parse_scope ------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("repository:acme/app:pull", Scope("repository", "acme/app", ("pull",))),
    ("repository:acme/team/app:pull,push", Scope("repository", "acme/team/app", ("pull", "push"))),
    ("repository:acme/a/b/c/d:delete", Scope("repository", "acme/a/b/c/d", ("delete",))),
    ("repository:acme/my-app_v2.x:*", Scope("repository", "acme/my-app_v2.x", ("*",))),
    ("repository(plugin):acme/plugin:pull", Scope("repository", "acme/plugin", ("pull",))),
    ("registry:catalog:*", Scope("registry", "catalog", ("*",))),
    ("registry(x1):catalog:*", Scope("registry", "catalog", ("*",))),
    # the type ends at the first ':', the actions start after the last one
    ("registry:registry.example.com:5000:*", Scope("registry", "registry.example.com:5000", ("*",))),
    ("repository:acme/app:push,pull,push,pull", Scope("repository", "acme/app", ("push", "pull"))),
    ("repository:acme/app:pull,,push,", Scope("repository", "acme/app", ("pull", "push"))),
    ("repository:acme/app:frobnicate", Scope("repository", "acme/app", ("frobnicate",))),  # kept, never granted
])
def test_parse_scope(text, expected):
    assert parse_scope(text) == expected


@pytest.mark.parametrize("text", [
    "", "repository", "repository:acme/app", ":acme/app:pull", "repository::pull", "Repository:acme/app:pull",
    "repo-sitory:acme/app:pull", "repository(:acme/app:pull", "repository(a)(b):acme/app:pull",
    "repository(Plugin):acme/app:pull",
])
def test_malformed_scopes(text):
    with pytest.raises(ScopeError, match="expected type:name:action"):
        parse_scope(text)


@pytest.mark.parametrize("text", ["repository:acme/app:", "repository:acme/app:,", "repository:acme/app:PULL",
                                  "repository:acme/app:pull,Push", "repository:acme/app:pull;push",
                                  "repository:acme/app:pu ll"])
def test_empty_or_malformed_actions(text):
    with pytest.raises(ScopeError, match="invalid actions"):
        parse_scope(text)


@pytest.mark.parametrize("name", [
    "app",                          # a registry and a repository are both needed
    "Acme/app", "acme/App",         # lower case only
    "acme//app", "/acme/app", "acme/app/", "acme/-app", "acme/app-",
    "acme/app@sha256", "acme/a$b",
    "localhost:5000/acme/app",      # moorage names carry no host
    "acme/" + "a" * 300,
])
def test_invalid_repository_names(name):
    with pytest.raises(ScopeError, match="invalid repository"):
        parse_scope(f"repository:{name}:pull")


@pytest.mark.parametrize("resource_type", ["blob", "plugin", "repositories", "catalog", "registryx"])
def test_unknown_resource_types(resource_type):
    with pytest.raises(ScopeError, match=f"unknown resource type '{resource_type}"):
        parse_scope(f"{resource_type}:acme/app:pull")


def test_long_input_is_not_echoed_whole():
    message = str(pytest.raises(ScopeError, parse_scope, "x" * 10_000).value)
    assert len(message) < 300


def test_scope_text_round_trips():
    for text in ["repository:acme/team/app:pull,push", "registry:catalog:*"]:
        assert parse_scope(text).text() == text
    assert parse_scope("repository(plugin):acme/app:pull").text() == "repository:acme/app:pull"


# ---- parse_scopes -----------------------------------------------------------------------

def test_several_scopes_in_one_value_and_across_values():
    assert parse_scopes(["repository:acme/a:pull repository:acme/b:push", "registry:catalog:*"]) == [
        Scope("repository", "acme/a", ("pull",)), Scope("repository", "acme/b", ("push",)),
        Scope("registry", "catalog", ("*",))]


def test_any_whitespace_separates_scopes():
    assert [s.name for s in parse_scopes(["  repository:acme/a:pull\trepository:acme/b:pull\n"])] == ["acme/a", "acme/b"]


def test_the_same_resource_is_merged_keeping_the_order_asked():
    assert parse_scopes(["repository:acme/app:pull", "repository:acme/app:push,pull",
                         "repository:acme/other:pull repository(plugin):acme/app:delete,push"]) == [
        Scope("repository", "acme/app", ("pull", "push", "delete")), Scope("repository", "acme/other", ("pull",))]


def test_a_registry_and_a_repository_of_the_same_name_stay_apart():
    assert len(parse_scopes(["registry:acme/app:* repository:acme/app:pull"])) == 2


def test_no_scopes():
    assert parse_scopes([]) == [] and parse_scopes(["", "   "]) == []


def test_one_bad_scope_refuses_the_request():
    assert "invalid repository" in refused("repository:acme/app:pull repository:Acme/app:pull")


def test_at_most_max_scopes_resources():
    names = [f"repository:acme/app{i}:pull" for i in range(MAX_SCOPES + 1)]
    assert MAX_SCOPES == 64
    assert len(parse_scopes(names[:MAX_SCOPES])) == MAX_SCOPES
    assert f"at most {MAX_SCOPES} scopes" in refused(*names)
    assert f"at most {MAX_SCOPES} scopes" in refused(" ".join(names))


def test_repeating_one_resource_does_not_count_against_the_limit():
    assert parse_scopes(["repository:acme/app:pull"] * (MAX_SCOPES * 3)) == [Scope("repository", "acme/app", ("pull",))]


# ---- granted_access ---------------------------------------------------------------------

def grant(text: str, allowed) -> list[dict]:
    return granted_access(parse_scopes([text]), allowed)


def test_only_allowed_actions_are_granted():
    allowed = allowing(("repository:Pull", APP))
    assert grant("repository:acme/team/app:pull,push", allowed) == [
        {"type": "repository", "name": "acme/team/app", "actions": ["pull"]}]
    assert allowed.asked == [("repository:Pull", APP), ("repository:Push", APP)]


def test_the_policy_actions_asked_for_each_token_action():
    allowed = allowing()
    grant("repository:acme/team/app:pull,push,delete", allowed)
    assert allowed.asked == [("repository:Pull", APP), ("repository:Push", APP), ("repository:Delete", APP)]


def test_star_expands_to_pull_push_delete():
    assert grant("repository:acme/team/app:*", everything)[0]["actions"] == ["pull", "push", "delete"]
    allowed = allowing(("repository:Pull", APP), ("repository:Delete", APP))
    assert grant("repository:acme/team/app:push,*", allowed)[0]["actions"] == ["pull", "delete"]


def test_unknown_actions_are_never_granted_or_asked_about():
    allowed = allowing(("repository:Pull", APP))
    assert grant("repository:acme/team/app:frobnicate,pull", allowed)[0]["actions"] == ["pull"]
    assert allowed.asked == [("repository:Pull", APP)]


def test_a_refusal_is_an_entry_with_no_actions():
    assert granted_access(parse_scopes(["repository:acme/a:pull repository:acme/b:push,delete"]), nothing) == [
        {"type": "repository", "name": "acme/a", "actions": []},
        {"type": "repository", "name": "acme/b", "actions": []}]


def test_each_repository_is_checked_on_its_own_resource():
    allowed = allowing(("repository:Pull", "mrn:repository:acme/b/c"))
    access = granted_access(parse_scopes(["repository:acme/a:pull repository:acme/b/c:pull"]), allowed)
    assert [e["actions"] for e in access] == [[], ["pull"]]


def test_the_catalog_is_granted_to_anyone_who_asks_for_it():
    assert grant("registry:catalog:*", nothing) == [{"type": "registry", "name": "catalog", "actions": ["*"]}]
    assert grant("registry:catalog:pull", everything) == [{"type": "registry", "name": "catalog", "actions": []}]


def test_other_registry_scopes_grant_nothing():
    assert grant("registry:acme:*", everything) == [{"type": "registry", "name": "acme", "actions": []}]


def test_no_scopes_no_access():
    assert granted_access([], everything) == []


# ---- access_allows ----------------------------------------------------------------------

ACCESS = [{"type": "repository", "name": "acme/app", "actions": ["pull", "push"]},
          {"type": "repository", "name": "acme/all", "actions": ["*"]},
          {"type": "repository", "name": "acme/none", "actions": []},
          {"type": "registry", "name": "catalog", "actions": ["*"]},
          "not an entry", {"type": "repository", "name": "acme/bare"}]


@pytest.mark.parametrize("resource_type, name, action, expected", [
    ("repository", "acme/app", "pull", True),
    ("repository", "acme/app", "push", True),
    ("repository", "acme/app", "delete", False),
    ("repository", "acme/app", "pul", False),
    ("repository", "acme/apps", "pull", False),
    ("repository", "acme/App", "pull", False),
    ("registry", "acme/app", "pull", False),
    ("repository", "acme/all", "delete", True),
    ("repository", "acme/none", "pull", False),
    ("repository", "acme/bare", "pull", False),
    ("registry", "catalog", "*", True),
    ("repository", "catalog", "*", False),
])
def test_access_allows(resource_type, name, action, expected):
    assert access_allows(ACCESS, resource_type, name, action) is expected


def test_a_granted_claim_reads_back():
    access = grant("repository:acme/team/app:pull,push", allowing(("repository:Pull", APP)))
    assert access_allows(access, "repository", "acme/team/app", "pull")
    assert not access_allows(access, "repository", "acme/team/app", "push")
    assert not access_allows([], "repository", "acme/team/app", "pull")


# ---- names and challenges ---------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("acme/app", ("acme", "app")), ("acme/team/app/web", ("acme", "team/app/web")), ("acme", ("acme", "")),
])
def test_split_repository(name, expected):
    assert split_repository(name) == expected


def test_challenge_without_a_scope():
    assert challenge("https://r.example/token", "moorage") == 'Bearer realm="https://r.example/token",service="moorage"'


def test_challenge_with_scope_and_error():
    scope = Scope("repository", "acme/team/app", ("pull", "push"))
    assert challenge("https://r.example/token", "moorage", scope, "insufficient_scope") == (
        'Bearer realm="https://r.example/token",service="moorage",'
        'scope="repository:acme/team/app:pull,push",error="insufficient_scope"')


def test_challenge_with_an_error_only():
    assert challenge("https://r/token", "svc", error="invalid_token") == (
        'Bearer realm="https://r/token",service="svc",error="invalid_token"')


def test_challenge_quotes_quotes_and_backslashes():
    assert challenge('https://r/to"ken', 'a\\b') == 'Bearer realm="https://r/to\\"ken",service="a\\\\b"'
    assert challenge('\\"', "s") == 'Bearer realm="\\\\\\"",service="s"'
