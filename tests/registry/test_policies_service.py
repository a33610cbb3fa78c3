"""Quotas, tag immutability and pull blocking, through the services against moto."""
from __future__ import annotations

import json

import pytest

from chalicelib.oci import Code, Digest, OciError, RepoName, Tag
from chalicelib.registry.errors import Conflict, InvalidSetting, PreconditionFailed
from tests.moto_services import moto_services
from tests.support.service import digest_of, push_blob, push_image

NAME = RepoName.parse("acme/app")


@pytest.fixture
def services():
    with moto_services(MOORAGE_SETTINGS_CACHE_TTL="0") as services:
        services.registries.create("acme", "t")
        yield services


def test_the_quota_is_exact_at_the_byte(services):
    services.registries.update("acme", {"quota_bytes": 10}, "t")
    push_blob(services, NAME, b"12345")
    push_blob(services, NAME, b"abcde")  # 10 of 10
    push_blob(services, NAME, b"12345")  # the same bytes again: no new bytes, no refusal
    assert services.metadata.registry_bytes("acme") == 10
    with pytest.raises(OciError) as refused:
        push_blob(services, NAME, b"x")
    assert refused.value.code is Code.DENIED
    assert "exceed it by 1" in refused.value.message and "quota" in refused.value.message
    assert services.metadata.registry_bytes("acme") == 10
    assert services.metadata.get_registry_blob("acme", str(digest_of(b"x"))) is None  # nothing half made
    services.registries.update("acme", {"quota_bytes": 11}, "t")
    push_blob(services, NAME, b"x")
    assert services.metadata.registry_bytes("acme") == 11


def test_a_quota_below_what_is_stored_is_a_conflict_and_negative_ones_are_invalid(services):
    push_blob(services, NAME, b"12345")
    with pytest.raises(Conflict, match="stores 5 bytes"):
        services.registries.update("acme", {"quota_bytes": 4}, "t")
    for bad in (-1, 1.5, "10", True):
        with pytest.raises(InvalidSetting):
            services.registries.update("acme", {"quota_bytes": bad}, "t")


def test_a_stale_revision_is_refused(services):
    revision = services.registries.get("acme").revision
    services.registries.update("acme", {"description": "first"}, "t", expected_revision=revision)
    with pytest.raises(PreconditionFailed):
        services.registries.update("acme", {"description": "second"}, "t", expected_revision=revision)
    assert services.registries.get("acme").description == "first"


def test_immutable_tags_cannot_be_overwritten_or_deleted(services):
    services.registries.update("acme", {"policy": {"immutable_tags": ["v*"]}}, "t")
    first = push_image(services, NAME, "v1", b"one")
    push_image(services, NAME, "v1", b"one")  # the same image again is fine
    with pytest.raises(OciError) as refused:
        push_image(services, NAME, "v1", b"two")
    assert refused.value.code is Code.DENIED and "immutable" in refused.value.message and "'v*'" in refused.value.message
    assert services.manifests.resolve(NAME, Tag.parse("v1"), []).digest == first
    with pytest.raises(OciError, match="immutable"):
        services.manifests.delete(NAME, Tag.parse("v1"), "t")
    with pytest.raises(OciError, match="immutable"):
        services.manifests.delete(NAME, Digest.parse(first), "t")
    push_image(services, NAME, "latest", b"two")
    push_image(services, NAME, "latest", b"three")  # other tags move freely
    services.manifests.delete(NAME, Tag.parse("latest"), "t")


def test_a_repository_policy_overrides_immutability(services):
    services.registries.update("acme", {"policy": {"immutable_tags": ["*"]}}, "t")
    push_image(services, NAME, "a", b"one")
    services.registries.update_repository(NAME, {"policy": json.dumps({"immutable_tags": []})}, "t")
    push_image(services, NAME, "a", b"two")


def test_pulls_of_images_whose_scan_exceeds_the_policy_are_denied(services):
    digest = push_image(services, NAME, "1", b"vulnerable")
    summary = json.dumps({"status": "completed", "severity_counts": {"CRITICAL": 1},
                          "vulnerabilities": {"CRITICAL": ["CVE-2024-0001"]}})
    assert services.metadata.set_scan_summary("acme", "app", digest, summary)
    record = services.manifests.resolve(NAME, Tag.parse("1"), [])
    services.manifests.check_pull(NAME, record)  # no policy: allowed
    services.registries.update("acme", {"policy": {"block_pull": {"severity": "HIGH"}}}, "t")
    for reference in (Tag.parse("1"), Digest.parse(digest)):
        with pytest.raises(OciError) as refused:
            services.manifests.check_pull(NAME, services.manifests.resolve(NAME, reference, []))
        assert refused.value.code is Code.DENIED and "CVE-2024-0001" in refused.value.message
        assert "acme/app@" + digest in refused.value.message
    services.registries.update("acme", {"policy": {"block_pull": {"severity": "HIGH",
                                                                  "allowlist": ["CVE-2024-0001"]}}}, "t")
    services.manifests.check_pull(NAME, record)


def test_public_registries_let_anyone_pull_and_nobody_push(services):
    from chalicelib.auth.principals import ANONYMOUS

    services.registries.update("acme", {"visibility": "public"}, "t")
    assert services.auth.allowed(ANONYMOUS, "repository:Pull", "mrn:repository:acme/app")
    assert not services.auth.allowed(ANONYMOUS, "repository:Push", "mrn:repository:acme/app")
    assert not services.auth.allowed(ANONYMOUS, "repository:Pull", "mrn:repository:library/app")
