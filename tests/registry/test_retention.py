"""Retention rules against moto: the plan a dry run shows is what a real run deletes."""
from __future__ import annotations

import json

import pytest

from chalicelib.oci import Digest, OciError, RepoName, Tag
from tests.moto_services import moto_services
from tests.support.service import push_image, push_index

NAME = RepoName.parse("acme/app")


@pytest.fixture
def services():
    with moto_services(MOORAGE_SETTINGS_CACHE_TTL="0") as services:
        services.registries.create("acme", "t")
        yield services


def _policy(services, *rules, **more) -> None:
    services.registries.update("acme", {"policy": {"retention": list(rules), **more}}, "t")


def _tags(services) -> list[str]:
    return services.metadata.list_tags("acme", "app", None, None)


def _digests(services) -> set[str]:
    return {m.digest for m in services.metadata.list_manifest_records("acme", "app")}


def test_keep_last_keeps_the_newest_matching_tags_and_the_dry_run_equals_the_real_run(services):
    pushed = {}
    for n in range(5):
        pushed[f"v{n}"] = push_image(services, NAME, f"v{n}", b"layer-%d" % n)
        services.clock.advance(minutes=1)
    push_image(services, NAME, "latest", b"layer-4")  # the same image as v4
    _policy(services, {"keep_last": 2, "tags": "v*"})
    dry = services.retention.run_registry("acme", dry_run=True)
    assert _tags(services) == ["latest", "v0", "v1", "v2", "v3", "v4"]  # a dry run changes nothing
    plan = dry["repositories"][0]
    assert sorted(t["tag"] for t in plan["tags"]) == ["v0", "v1", "v2"]
    assert {m["digest"] for m in plan["manifests"]} == {pushed["v0"], pushed["v1"], pushed["v2"]}
    assert dry["bytes_freed"] > 3 * len(b"layer-0")
    real = services.retention.run_registry("acme")
    assert real["repositories"] == dry["repositories"] and real["bytes_freed"] == dry["bytes_freed"]
    assert _tags(services) == ["latest", "v3", "v4"]
    assert _digests(services) == {pushed["v3"], pushed["v4"]}
    assert services.retention.run_registry("acme")["repositories"] == []  # nothing left to do


def test_untagged_manifests_older_than_the_limit_go_but_children_and_referrers_of_kept_images_stay(services):
    child = push_image(services, NAME, None, b"arm64")
    push_index(services, NAME, "multi", [child])
    old_untagged = push_image(services, NAME, None, b"old")
    image = push_image(services, NAME, "1", b"image")
    sbom = push_image(services, NAME, None, b"sbom", subject={
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": image,
        "size": services.manifests.resolve(NAME, Digest.parse(image), []).size})
    services.clock.advance(days=8)
    fresh = push_image(services, NAME, None, b"fresh")
    _policy(services, {"untagged_older_than_days": 7})
    plan = services.retention.run_registry("acme", dry_run=True)["repositories"][0]
    assert [m["digest"] for m in plan["manifests"]] == [old_untagged]
    services.retention.run_registry("acme")
    assert _digests(services) == {child, image, sbom, fresh, services.manifests.resolve(
        NAME, Tag.parse("multi"), []).digest}


def test_an_expired_image_takes_its_untagged_referrers_along(services):
    image = push_image(services, NAME, "old", b"image")
    sbom = push_image(services, NAME, None, b"sbom", subject={
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": image,
        "size": services.manifests.resolve(NAME, Digest.parse(image), []).size})
    services.clock.advance(days=40)
    push_image(services, NAME, "new", b"new")
    _policy(services, {"not_pulled_for_days": 30, "tags": "*"})
    plan = services.retention.run_registry("acme", dry_run=True)["repositories"][0]
    assert {m["digest"]: m["reason"] for m in plan["manifests"]} == {
        image: "all its tags expire", sbom: "belongs to an image that goes"}
    services.retention.run_registry("acme")
    assert _tags(services) == ["new"]


def test_a_recent_pull_keeps_an_image(services):
    image = push_image(services, NAME, "old", b"image")
    services.clock.advance(days=40)
    services.metadata.record_pull("acme", "app", image, services.clock.now())
    _policy(services, {"not_pulled_for_days": 30, "tags": "*"})
    assert services.retention.run_registry("acme", dry_run=True)["repositories"] == []


def test_immutable_tags_are_never_removed(services):
    for n in range(3):
        push_image(services, NAME, f"v{n}", b"layer-%d" % n)
        services.clock.advance(minutes=1)
    _policy(services, {"keep_last": 1, "tags": "*"}, immutable_tags=["v0"])
    services.retention.run_registry("acme")
    assert _tags(services) == ["v0", "v2"]


def test_a_repository_policy_overrides_the_registrys_rules(services):
    for n in range(3):
        push_image(services, NAME, f"v{n}", b"layer-%d" % n)
    _policy(services, {"keep_last": 1, "tags": "*"})
    services.registries.update_repository(NAME, {"policy": json.dumps({"retention": []})}, "t")
    assert services.retention.run_registry("acme")["repositories"] == []
    assert len(_tags(services)) == 3
    with pytest.raises(OciError):
        services.manifests.resolve(NAME, Tag.parse("gone"), [])
