"""Policy documents: what parse_policy accepts and refuses, the canonical form
(policy_document) and how evaluate decides, conditions included."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from chalicelib.auth import policy
from chalicelib.auth.policy import (Decision, PolicyError, RequestContext, evaluate, parse_policy,
                                    policy_document, registry_resource, repository_resource)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
ALICE = RequestContext(source_ip="10.1.2.3", now=NOW, principal="user:alice", principal_type="user")
PULL = "repository:Pull"
APP = "mrn:repository:acme/team/app"


def document(*statements: dict, **fields) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements), **fields})


def allow(action="repository:Pull", resource=APP, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="repository:Pull", resource=APP, **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(*statements: dict, action=PULL, resource=APP, context=ALICE) -> Decision:
    return evaluate([parse_policy(document(*statements))], action, resource, context)


def allowed(*statements: dict, **kwargs) -> bool:
    return decide(*statements, **kwargs).allowed


def at(**changes) -> RequestContext:
    fields = {"source_ip": ALICE.source_ip, "now": ALICE.now, "principal": ALICE.principal,
              "principal_type": ALICE.principal_type, **changes}
    return RequestContext(**fields)


def refused(text: str | bytes) -> str:
    """The PolicyError message parse_policy gives for `text`."""
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    return str(caught.value)


# ---- parsing: accepted ------------------------------------------------------------------

def test_parses_a_full_statement():
    parsed = parse_policy(document(allow(
        ["repository:Pull", "repository:Push"], ["mrn:repository:acme/*", "mrn:registry:acme"],
        Sid="Team1", Condition={"IpAddress": {"moorage:SourceIp": "10.0.0.0/8"}})))
    (statement,) = parsed.statements
    assert statement.effect == "Allow"
    assert statement.sid == "Team1"
    assert statement.actions == ("repository:Pull", "repository:Push")
    assert statement.resources == ("mrn:repository:acme/*", "mrn:registry:acme")
    assert [(c.operator, c.key, c.values) for c in statement.conditions] == [
        ("IpAddress", "moorage:SourceIp", ("10.0.0.0/8",))]


def test_single_strings_become_one_element_tuples():
    (statement,) = parse_policy(document(deny("scan:Start", "*"))).statements
    assert (statement.effect, statement.actions, statement.resources) == ("Deny", ("scan:Start",), ("*",))
    assert statement.conditions == () and statement.sid is None


def test_a_single_statement_object_is_a_list_of_one():
    parsed = parse_policy(json.dumps({"Statement": allow()}))
    assert len(parsed.statements) == 1 and parsed.statements[0].actions == (PULL,)


@pytest.mark.parametrize("text", [
    json.dumps({"Statement": [allow()]}),                               # Version may be left out
    json.dumps({"Version": "2012-10-17", "Id": "mine", "Statement": [allow()]}),
    json.dumps({"Statement": [allow()]}).encode(),                      # bytes
])
def test_accepted_document_forms(text):
    assert parse_policy(text).statements[0].resources == (APP,)


@pytest.mark.parametrize("action", ["repository:*", "*", "REPOSITORY:pull", "scan:?ead", "*:Read"])
def test_wildcard_and_differently_cased_actions_are_accepted(action):
    assert parse_policy(document(allow(action))).statements[0].actions == (action,)


@pytest.mark.parametrize("resource", ["*", "mrn:registry:acme", "mrn:repository:acme/*", "mrn:iam:principals"])
def test_resources_in_the_mrn_namespaces_are_accepted(resource):
    assert parse_policy(document(allow(resource=resource))).statements[0].resources == (resource,)


def test_operators_and_keys_are_case_insensitive():
    parsed = parse_policy(document(allow(Condition={"stringequals": {"MOORAGE:principaltype": "robot"}})))
    assert allowed(allow(Condition={"stringequals": {"MOORAGE:principaltype": "robot"}}),
                   context=at(principal_type="robot"))
    assert parsed.statements[0].conditions[0].operator == "stringequals"  # kept as written


def test_at_most_the_statement_limit():
    assert len(parse_policy(document(*[allow("scan:Read", "*")] * 100)).statements) == 100
    assert "at most 100 statements" in refused(document(*[allow("scan:Read", "*")] * 101))


# ---- parsing: refused -------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("", "not valid JSON"),
    ("[]", "JSON object"),
    ('"a string"', "JSON object"),
    ("null", "JSON object"),
    (json.dumps({"Statement": [allow()], "Extra": 1}), "unknown policy field(s): Extra"),
    (json.dumps({"Version": "2008-10-17", "Statement": [allow()]}), "'Version' must be '2012-10-17'"),
    (json.dumps({"Version": 2012, "Statement": [allow()]}), "'Version'"),
    (json.dumps({"Version": "2012-10-17"}), "'Statement' must be a list"),
    (json.dumps({"Statement": "Allow"}), "'Statement' must be a list"),
    (document("Allow"), "Statement[0] must be an object"),
])
def test_refused_documents(text, message):
    assert message in refused(text)


@pytest.mark.parametrize("statement, message", [
    ({**allow(), "NotAction": "repository:Push"}, "unknown field(s) NotAction"),
    ({**allow(), "NotResource": APP}, "unknown field(s) NotResource"),
    ({**allow(), "Principal": "*"}, "unknown field(s) Principal"),
    ({**allow(), "Effect": "allow"}, "Effect must be 'Allow' or 'Deny'"),
    ({**allow(), "Effect": "Permit"}, "Effect must be 'Allow' or 'Deny'"),
    ({"Action": PULL, "Resource": APP}, "Effect must be 'Allow' or 'Deny'"),
    (allow(Sid="has space"), "Sid must be"),
    (allow(Sid=""), "Sid must be"),
    (allow(Sid=7), "Sid must be"),
    (allow(Sid="x" * 129), "Sid must be"),
])
def test_refused_statement_fields(statement, message):
    text = refused(document(allow(), statement))
    assert "Statement[1]" in text and message in text


@pytest.mark.parametrize("action", ["repository:Pul", "repository:Pull*x", "repo:*", "Pull", "registry:Create"])
def test_actions_matching_no_known_action_are_refused(action):
    text = refused(document(allow(action)))
    assert f"Action {action!r} matches no action" in text and "repository:Pull" in text  # lists the known ones


@pytest.mark.parametrize("resource", ["arn:aws:s3:::bucket", "acme/team/app", "mrn:repo:acme/x", "MRN:registry:acme",
                                      "mrn:iam:users", "**"])
def test_resources_outside_the_mrn_namespaces_are_refused(resource):
    assert f"Resource {resource!r} must be '*' or start with" in refused(document(allow(resource=resource)))


@pytest.mark.parametrize("field, value", [
    ("Action", []), ("Resource", []), ("Action", None), ("Resource", None), ("Action", ""),
    ("Resource", ""), ("Action", [PULL, 3]), ("Resource", {"a": APP}), ("Resource", "mrn:registry:" + "a" * 600),
])
def test_action_and_resource_must_be_non_empty_strings_or_lists(field, value):
    statement = allow()
    if value is None:
        del statement[field]
    else:
        statement[field] = value
    assert f"Statement[0].{field} must be a non-empty string or list of strings" in refused(document(statement))


@pytest.mark.parametrize("condition, message", [
    ("IpAddress", "Condition must be an object of operators"),
    ({"IpAddressX": {"moorage:SourceIp": "10.0.0.0/8"}}, "unknown operator 'IpAddressX'"),
    ({"ArnLike": {"moorage:Principal": "x"}}, "unknown operator 'ArnLike'"),
    ({"IpAddress": {}}, "must map condition keys to values"),
    ({"IpAddress": ["10.0.0.0/8"]}, "must map condition keys to values"),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, "unknown key 'aws:SourceIp'"),
    ({"StringEquals": {"moorage:UserAgent": "docker"}}, "unknown key 'moorage:UserAgent'"),
    ({"IpAddress": {"moorage:SourceIp": []}}, "non-empty string or list"),
    ({"IpAddress": {"moorage:SourceIp": "10.0.0.0/33"}}, "Condition.IpAddress.moorage:SourceIp"),
    ({"IpAddress": {"moorage:SourceIp": "10.0.0.300"}}, "Condition.IpAddress.moorage:SourceIp"),
    ({"NotIpAddress": {"moorage:SourceIp": ["10.0.0.0/8", "fe80::/200"]}}, "fe80::/200"),
    ({"IpAddress": {"moorage:Principal": "user:alice"}}, "this operator tests moorage:SourceIp"),
    ({"DateLessThan": {"moorage:CurrentTime": "2027-01-01T00:00:00"}}, "needs a time zone"),
    ({"DateGreaterThan": {"moorage:CurrentTime": "2027-01-01"}}, "needs a time zone"),
    ({"DateLessThan": {"moorage:CurrentTime": "next tuesday"}}, "Condition.DateLessThan.moorage:CurrentTime"),
    ({"DateLessThan": {"moorage:SourceIp": "2027-01-01T00:00:00Z"}}, "this operator tests moorage:CurrentTime"),
    ({"StringEquals": {"moorage:SourceIp": "10.0.0.1"}}, "tests moorage:Principal or moorage:PrincipalType"),
    ({"StringLike": {"moorage:CurrentTime": "2027*"}}, "tests moorage:Principal or moorage:PrincipalType"),
])
def test_refused_conditions(condition, message):
    text = refused(document(allow(Condition=condition)))
    assert text.startswith("Statement[0].Condition") and message in text


def test_oversize_documents_are_refused_before_parsing():
    padding = " " * (20 * 1024)
    assert "at most 20480 bytes" in refused(document(allow()) + padding)
    assert "at most 20480 bytes" in refused((document(allow()) + padding).encode())
    assert "at most 20480 bytes" in refused("x" * 30_000)  # not even read as JSON


# ---- the canonical form -----------------------------------------------------------------

ROUND_TRIP = [
    document(allow()),
    json.dumps({"Statement": deny("repository:*", "mrn:repository:acme/*")}),
    document(allow([PULL, "repository:Push"], ["mrn:repository:acme/a", "mrn:repository:acme/b"], Sid="Two")),
    document(allow(Condition={"IpAddress": {"moorage:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
                              "DateLessThan": {"moorage:CurrentTime": "2027-01-01T00:00:00+02:00"},
                              "StringLike": {"moorage:Principal": "user:*", "moorage:PrincipalType": "user"}}),
             deny("*", "*", Condition={"notipaddress": {"moorage:sourceip": "192.168.0.0/16"}})),
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_the_canonical_form_parses_to_the_same_policy(text):
    parsed = parse_policy(text)
    canonical = policy_document(parsed)
    assert parse_policy(json.dumps(canonical)) == parsed
    assert policy_document(parse_policy(json.dumps(canonical))) == canonical


def test_the_canonical_form_uses_lists_and_names_the_version():
    canonical = policy_document(parse_policy(json.dumps({"Id": "dropped", "Statement": allow(
        Sid="S1", Condition={"IpAddress": {"moorage:SourceIp": "10.0.0.0/8"}})})))
    assert canonical == {"Version": "2012-10-17", "Statement": [{
        "Sid": "S1", "Effect": "Allow", "Action": [PULL], "Resource": [APP],
        "Condition": {"IpAddress": {"moorage:SourceIp": ["10.0.0.0/8"]}}}]}
    assert list(canonical["Statement"][0]) == ["Sid", "Effect", "Action", "Resource", "Condition"]


def test_a_policy_whose_canonical_form_would_be_oversize_is_refused():
    """The canonical form is what gets stored and parsed again on every request, so it must
    itself fit: string Actions become lists and the Version is added, which can push a
    document just under the limit over it."""
    statement = {"Effect": "Allow", "Action": PULL, "Resource": "mrn:repository:acme/" + "a" * 400}
    text = json.dumps({"Statement": [statement] * 42})
    assert len(text) <= 20 * 1024 < len(json.dumps({"Version": "2012-10-17", "Statement": [
        {**statement, "Action": [PULL], "Resource": [statement["Resource"]]}] * 42}))
    assert "at most 20480 bytes" in refused(text)


def test_a_document_near_the_limit_whose_canonical_form_fits_round_trips():
    statement = {"Effect": "Allow", "Action": [PULL], "Resource": ["mrn:repository:acme/" + "a" * 400]}
    text = document(*[statement] * 41)
    assert 20 * 1024 - 1000 < len(text) <= 20 * 1024
    parsed = parse_policy(text)
    assert parse_policy(json.dumps(policy_document(parsed), sort_keys=True)) == parsed


def test_non_ascii_text_counts_as_it_is_stored():
    """Under 20 KiB of UTF-8 as sent, but the stored (ASCII-escaped) canonical form is not."""
    principals = ["user:" + "\u00e9" * 500] * 18
    text = json.dumps({"Statement": allow(Condition={"StringEquals": {"moorage:Principal": principals}})},
                      ensure_ascii=False)
    assert len(text.encode()) <= 20 * 1024
    assert "at most 20480 bytes" in refused(text)


# ---- evaluation -------------------------------------------------------------------------

def test_default_deny():
    assert evaluate([], PULL, APP, ALICE) == Decision(False, "no statement allows")
    assert decide(allow("repository:Push")) == Decision(False, "no statement allows")
    assert decide(allow(resource="mrn:repository:acme/other")) == Decision(False, "no statement allows")


def test_allow():
    assert decide(allow()) == Decision(True, "allowed")


def test_an_explicit_deny_wins_over_an_allow_across_policies():
    policies = [parse_policy(document(allow("repository:*", "mrn:repository:acme/*"))),
                parse_policy(document(deny("repository:Pull", APP)))]
    assert evaluate(policies, PULL, APP, ALICE) == Decision(False, "explicit deny")
    assert evaluate(policies[::-1], PULL, APP, ALICE) == Decision(False, "explicit deny")
    assert evaluate(policies, "repository:Push", APP, ALICE) == Decision(True, "allowed")
    assert evaluate(policies, PULL, "mrn:repository:acme/team/other", ALICE).allowed


def test_a_deny_whose_condition_fails_does_not_apply():
    denied_outside = deny(Condition={"NotIpAddress": {"moorage:SourceIp": "10.0.0.0/8"}})
    assert allowed(allow(), denied_outside, context=at(source_ip="10.9.9.9"))
    assert decide(allow(), denied_outside, context=at(source_ip="8.8.8.8")) == Decision(False, "explicit deny")


@pytest.mark.parametrize("written, asked", [
    ("repository:Pull", "REPOSITORY:PULL"), ("REPOSITORY:pull", "repository:Pull"),
    ("Repository:*", "repository:push"), ("*", "Billing:Read"), ("scan:?ead", "SCAN:READ"),
])
def test_actions_match_case_insensitively(written, asked):
    assert allowed(allow(written), action=asked)


@pytest.mark.parametrize("written, asked, expected", [
    ("mrn:repository:acme/team/app", "mrn:repository:acme/team/app", True),
    ("mrn:repository:Acme/team/app", "mrn:repository:acme/team/app", False),
    ("mrn:repository:acme/team/app", "mrn:repository:acme/Team/app", False),
    ("mrn:repository:acme/*", "mrn:repository:acme/team/app/web", True),      # * crosses /
    ("mrn:repository:acme/*/web", "mrn:repository:acme/team/app/web", True),
    ("mrn:repository:acme/*", "mrn:repository:acmeco/app", False),
    ("mrn:repository:acme/*", "mrn:repository:ACME/app", False),
    ("mrn:repository:*", "mrn:registry:acme", False),
    ("*", "mrn:registry:acme", True),
    ("mrn:repository:acme/app?", "mrn:repository:acme/app1", True),          # ? is one character
    ("mrn:repository:acme/app?", "mrn:repository:acme/app", False),
    ("mrn:repository:acme/app?", "mrn:repository:acme/app12", False),
    ("mrn:repository:acme/a.b", "mrn:repository:acme/axb", False),           # not a regular expression
    ("mrn:repository:acme/a+", "mrn:repository:acme/aa", False),
    ("mrn:repository:acme/app", "mrn:repository:acme/app/web", False),       # whole-string match
    ("mrn:repository:acme/app", "xmrn:repository:acme/app", False),
])
def test_resource_matching(written, asked, expected):
    assert allowed(allow(resource=written), resource=asked) is expected


def ip_rule(operator: str, *networks: str) -> dict:
    return allow(Condition={operator: {"moorage:SourceIp": list(networks)}})


@pytest.mark.parametrize("networks, source_ip, inside", [
    (["10.0.0.0/8"], "10.1.2.3", True),
    (["10.0.0.0/8"], "11.1.2.3", False),
    (["192.168.0.0/16", "10.0.0.0/8"], "10.255.255.255", True),
    (["10.1.2.3"], "10.1.2.3", True),                   # a host is a /32
    (["10.1.2.3"], "10.1.2.4", False),
    (["10.1.2.3/8"], "10.200.0.1", True),               # host bits are ignored
    (["2001:db8::/32"], "2001:db8::1", True),
    (["2001:db8::/32"], "2001:db9::1", False),
    (["2001:DB8::/32"], "2001:db8:0:0::abcd", True),
    (["::/0"], "10.1.2.3", False),                      # an IPv4 address is in no IPv6 network
    (["0.0.0.0/0"], "2001:db8::1", False),
])
def test_ip_address_conditions(networks, source_ip, inside):
    context = at(source_ip=source_ip)
    assert allowed(ip_rule("IpAddress", *networks), context=context) is inside
    assert allowed(ip_rule("NotIpAddress", *networks), context=context) is not inside


@pytest.mark.parametrize("source_ip", ["", "unknown", "10.1.2", "10.1.2.3:443"])
def test_an_unusable_source_ip_is_in_no_network(source_ip):
    context = at(source_ip=source_ip)
    assert not allowed(ip_rule("IpAddress", "0.0.0.0/0", "::/0"), context=context)
    # ... so a NotIpAddress condition holds, as IAM's negated operators do for a missing key:
    assert allowed(ip_rule("NotIpAddress", "10.0.0.0/8"), context=context)
    assert not allowed(allow(), deny(Condition={"NotIpAddress": {"moorage:SourceIp": "10.0.0.0/8"}}),
                       context=context)


def time_rule(operator: str, *times: str) -> dict:
    return allow(Condition={operator: {"moorage:CurrentTime": list(times)}})


@pytest.mark.parametrize("operator, when, expected", [
    ("DateLessThan", "2026-06-01T12:00:01Z", True),
    ("DateLessThan", "2026-06-01T12:00:00Z", False),    # strictly less
    ("DateLessThan", "2026-06-01T11:59:59Z", False),
    ("DateLessThan", "2026-06-01T14:00:01+02:00", True),
    ("DateLessThan", "2026-06-01T13:59:59+02:00", False),
    ("DateGreaterThan", "2026-06-01T11:59:59Z", True),
    ("DateGreaterThan", "2026-06-01T12:00:00+00:00", False),
    ("DateGreaterThan", "2026-06-01T12:00:01Z", False),
    ("DateGreaterThan", "2026-06-01T07:00:00-05:00", False),
    ("DateGreaterThan", "2026-06-01T06:59:59-05:00", True),
])
def test_date_conditions_compare_with_the_request_time(operator, when, expected):
    assert allowed(time_rule(operator, when)) is expected


def test_date_conditions_follow_the_context_clock():
    until_2027 = time_rule("DateLessThan", "2027-01-01T00:00:00Z")
    assert allowed(until_2027, context=at(now=datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc)))
    assert not allowed(until_2027, context=at(now=datetime(2027, 1, 1, 0, 1, tzinfo=timezone.utc)))


def test_a_time_window_needs_both_conditions():
    window = allow(Condition={"DateGreaterThan": {"moorage:CurrentTime": "2026-01-01T00:00:00Z"},
                              "DateLessThan": {"moorage:CurrentTime": "2027-01-01T00:00:00Z"}})
    assert allowed(window)
    assert not allowed(window, context=at(now=datetime(2025, 6, 1, tzinfo=timezone.utc)))
    assert not allowed(window, context=at(now=datetime(2027, 6, 1, tzinfo=timezone.utc)))


def string_rule(operator: str, key: str, *values: str) -> dict:
    return allow(Condition={operator: {key: list(values)}})


@pytest.mark.parametrize("rule, context, expected", [
    (string_rule("StringEquals", "moorage:PrincipalType", "robot"), at(principal_type="robot"), True),
    (string_rule("StringEquals", "moorage:PrincipalType", "robot"), at(principal_type="user"), False),
    (string_rule("StringEquals", "moorage:PrincipalType", "Robot"), at(principal_type="robot"), False),
    (string_rule("StringEquals", "moorage:PrincipalType", "user", "robot"), at(principal_type="user"), True),
    (string_rule("StringEquals", "moorage:Principal", "user:alice"), ALICE, True),
    (string_rule("StringEquals", "moorage:Principal", "user:ali"), ALICE, False),
    (string_rule("StringNotEquals", "moorage:PrincipalType", "anonymous"), ALICE, True),
    (string_rule("StringNotEquals", "moorage:PrincipalType", "anonymous"), at(principal_type="anonymous"), False),
    (string_rule("StringLike", "moorage:Principal", "user:a*"), ALICE, True),
    (string_rule("StringLike", "moorage:Principal", "user:a*"), at(principal="user:bob"), False),
    (string_rule("StringLike", "moorage:Principal", "robot:acme+*"), at(principal="robot:acme+ci"), True),
    (string_rule("StringLike", "moorage:Principal", "user:?lice"), ALICE, True),
    (string_rule("StringLike", "moorage:Principal", "user:?lice"), at(principal="user:malice"), False),
    (string_rule("StringLike", "moorage:Principal", "User:*"), ALICE, False),      # case-sensitive
    (string_rule("StringLike", "moorage:Principal", "user:.*"), ALICE, False),     # not a regular expression
    (string_rule("StringLike", "moorage:PrincipalType", "fed*"), at(principal_type="federated"), True),
])
def test_string_conditions(rule, context, expected):
    assert allowed(rule, context=context) is expected


def test_all_conditions_of_a_statement_must_hold():
    rule = allow(Condition={"IpAddress": {"moorage:SourceIp": "10.0.0.0/8"},
                            "StringEquals": {"moorage:PrincipalType": "user"}})
    assert allowed(rule)
    assert not allowed(rule, context=at(source_ip="8.8.8.8"))
    assert not allowed(rule, context=at(principal_type="robot"))


# ---- resource names ---------------------------------------------------------------------

def test_resource_names():
    assert registry_resource("acme") == "mrn:registry:acme"
    assert repository_resource("acme", "team/app") == "mrn:repository:acme/team/app"
    assert allowed(allow(resource=repository_resource("acme", "team/*")), resource=APP)
    assert policy.IAM_RESOURCE == "mrn:iam:principals"
