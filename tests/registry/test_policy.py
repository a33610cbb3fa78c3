"""Content policies: validation, the registry/repository merge, immutability, pull blocking."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from chalicelib.registry.policy import PolicyInvalid, effective, parse_policy

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("document, message", [
    ([], "JSON object"),
    ("{", "JSON object"),
    ({"scan_on_push": "yes"}, "true or false"),
    ({"scanOnPush": True}, "unknown policy key"),
    ({"immutable_tags": "v*"}, "list"),
    ({"immutable_tags": ["v[0-9]"]}, "invalid tag pattern"),
    ({"immutable_tags": [".hidden"]}, "invalid tag pattern"),
    ({"immutable_tags": ["x" * 129]}, "invalid tag pattern"),
    ({"immutable_tags": ["v*"] * 21}, "at most 20"),
    ({"block_pull": {"severity": "SEVERE"}}, "severity is one of"),
    ({"block_pull": {"severity": "HIGH", "allowlist": ["not a cve"]}}, "vulnerability ids"),
    ({"block_pull": {"severity": "HIGH", "allowlist_expires_at": "tomorrow"}}, "ISO 8601"),
    ({"block_pull": {"severity": "HIGH", "allowlist_expires_at": "2027-01-01T00:00:00"}}, "time zone"),
    ({"block_pull": {"severity": "HIGH", "when": "always"}}, "unknown block_pull key"),
    ({"retention": [{"keep_last": 0}]}, "from 1"),
    ({"retention": [{"keep_last": -3}]}, "from 1"),
    ({"retention": [{"keep_last": True}]}, "whole number"),
    ({"retention": [{"keep_last": 3, "untagged_older_than_days": 3}]}, "one of"),
    ({"retention": [{"untagged_older_than_days": 3, "tags": "*"}]}, "no tag pattern"),
    ({"retention": [{"not_pulled_for_days": 30, "tags": "a/b"}]}, "invalid tag pattern"),
])
def test_invalid_policies_are_refused_with_a_reason(document, message):
    with pytest.raises(PolicyInvalid, match=message):
        parse_policy(document)


def test_a_valid_policy_is_canonical():
    canonical = parse_policy({"immutable_tags": ["v*", "release-?", "v*"],
                              "block_pull": {"severity": "high", "allowlist": ["CVE-2024-2", "CVE-2024-1"],
                                             "allowlist_expires_at": "2027-01-01T00:00:00+00:00"},
                              "retention": [{"keep_last": 3, "tags": "v*"}, {"untagged_older_than_days": 7}]})
    assert canonical == {"immutable_tags": ["release-?", "v*"],
                         "block_pull": {"severity": "HIGH", "allowlist": ["CVE-2024-1", "CVE-2024-2"],
                                        "allowlist_expires_at": "2027-01-01T00:00:00Z"},
                         "retention": [{"keep_last": 3, "tags": "v*"}, {"untagged_older_than_days": 7}]}


def test_the_repository_overrides_the_registry_key_by_key():
    registry = json.dumps({"scan_on_push": True, "immutable_tags": ["v*"],
                           "block_pull": {"severity": "HIGH", "allowlist": []}})
    repository = json.dumps({"immutable_tags": ["prod-*"], "block_pull": None})
    policy = effective(registry, repository)
    assert policy.immutable_tags == ("prod-*",)
    assert policy.block_pull is None and policy.scan_on_push
    assert policy.sources == {"scan_on_push": "registry", "immutable_tags": "repository",
                              "block_pull": "repository"}
    assert effective(None).scan_on_push and effective(json.dumps({"scan_on_push": False})).scan_on_push is False


def test_immutability_matches_globs_on_the_whole_tag():
    policy = effective(json.dumps({"immutable_tags": ["v*", "release-?"]}))
    assert policy.is_immutable("v1.2") == "v*"
    assert policy.is_immutable("release-1") == "release-?"
    assert policy.is_immutable("release-10") is None
    assert policy.is_immutable("latest") is None
    assert policy.is_immutable("xv1") is None


def _summary(**ids) -> str:
    return json.dumps({"status": "completed", "severity_counts": {k: len(v) for k, v in ids.items()},
                       "vulnerabilities": ids})


def test_pulls_are_blocked_at_or_above_the_severity_and_the_message_says_why():
    policy = effective(json.dumps({"block_pull": {"severity": "HIGH"}}))
    assert policy.pull_refusal("acme/app", "sha256:x", _summary(MEDIUM=["CVE-1"], LOW=["CVE-2"]), NOW) is None
    refusal = policy.pull_refusal("acme/app", "sha256:x", _summary(CRITICAL=["CVE-9"], MEDIUM=["CVE-1"]), NOW)
    assert "acme/app@sha256:x" in refusal and "CVE-9" in refusal and "HIGH" in refusal and "registry policy" in refusal
    assert policy.pull_refusal("acme/app", "sha256:x", None, NOW) is None  # not scanned (yet)


def test_the_allowlist_lets_listed_ids_through_until_it_expires():
    policy = effective(json.dumps({"block_pull": {"severity": "HIGH", "allowlist": ["CVE-9"],
                                                  "allowlist_expires_at": "2026-07-01T00:00:00Z"}}))
    summary = _summary(HIGH=["CVE-9"])
    assert policy.pull_refusal("a/b", "sha256:x", summary, NOW) is None
    assert "CVE-9" in policy.pull_refusal("a/b", "sha256:x", summary, datetime(2026, 7, 2, tzinfo=timezone.utc))


def test_ids_cut_from_a_long_summary_still_block():
    policy = effective(json.dumps({"block_pull": {"severity": "HIGH", "allowlist": ["CVE-1"]}}))
    summary = json.dumps({"severity_counts": {"HIGH": 80}, "vulnerabilities": {"HIGH": ["CVE-1"]},
                          "truncated": ["HIGH"]})
    assert "and more" in policy.pull_refusal("a/b", "sha256:x", summary, NOW)


def test_one_vulnerability_in_two_packages_is_allowlisted_once():
    policy = effective(json.dumps({"block_pull": {"severity": "HIGH", "allowlist": ["CVE-1"]}}))
    summary = json.dumps({"severity_counts": {"HIGH": 2}, "vulnerabilities": {"HIGH": ["CVE-1"]}, "truncated": []})
    assert policy.pull_refusal("a/b", "sha256:x", summary, NOW) is None
