"""Deleting repositories and registries in bounded background steps, against moto."""
from __future__ import annotations

import time

import pytest

from chalicelib.oci import Code, OciError, RepoName, Tag
from chalicelib.registry.errors import Conflict, NotFound
from tests.moto_services import moto_services
from tests.support.service import digest_of, push_blob, push_image

ACME = RepoName.parse("acme/app")


@pytest.fixture
def services():
    with moto_services() as services:
        services.registries.create("acme", "t", quota_bytes=10_000)
        yield services


def _objects(services) -> set[str]:
    s3 = services.aws.client("s3")
    found = s3.list_objects_v2(Bucket=services.settings.bucket).get("Contents", [])
    return {o["Key"] for o in found}


def test_a_repository_goes_with_its_tags_manifests_and_links(services):
    push_image(services, ACME, "1", b"one")
    push_image(services, RepoName.parse("acme/keep"), "1", b"one")
    record = services.deletions.request_repository(ACME, "t")
    assert services.deletions.run_one(record, time.monotonic() + 30)
    assert not services.metadata.repository_exists("acme", "app")
    assert services.metadata.list_manifest_records("acme", "app") == []
    assert services.metadata.get_blob("acme", "app", str(digest_of(b"one"))) is None
    keep = services.manifests.resolve(RepoName.parse("acme/keep"), Tag.parse("1"), [])  # untouched
    assert services.manifests.content(RepoName.parse("acme/keep"), keep)
    with pytest.raises(NotFound):
        services.deletions.request_repository(ACME, "t")


def test_a_registry_that_is_not_empty_needs_force(services):
    push_image(services, ACME, "1", b"one")
    with pytest.raises(Conflict, match="force"):
        services.deletions.request_registry("acme", "t")
    assert services.registries.get("acme").status == "active"


def test_a_registry_is_deleted_step_by_step_and_everything_goes(services):
    for n in range(3):
        push_image(services, RepoName.parse(f"acme/r{n}"), "1", b"layer-%d" % n)
    push_blob(services, ACME, b"orphan")
    others = {k for k in _objects(services) if not k.startswith("acme/")}
    record = services.deletions.request_registry("acme", "t", force=True)
    assert services.registries.get("acme").status == "deleting"
    with pytest.raises(OciError) as refused:  # no pushes meanwhile
        push_blob(services, ACME, b"late")
    assert refused.value.code is Code.NAME_UNKNOWN and "being deleted" in refused.value.message
    assert not services.deletions.run_one(record, time.monotonic())  # no time at all: progress only
    while not services.deletions.run():
        pass
    with pytest.raises(NotFound):
        services.registries.get("acme")
    assert {k for k in _objects(services) if k.startswith("acme/")} == set()
    assert _objects(services) >= others
    assert services.metadata.registry_bytes("acme") == 0
    assert services.deletions.status("acme") is None
    services.registries.create("acme", "t")  # the name is free again, and the registry empty
    assert services.metadata.list_repository_records("acme") == []


def test_a_deleted_registrys_robots_and_roles_go(services):
    services.auth.principals.create_robot("acme", "ci", "t", role="Developer")
    services.auth.principals.create_user("alice", "a-long-password-1", "t")
    services.auth.principals.set_role("user", "alice", "acme", "Guest", "t")
    record = services.deletions.request_registry("acme", "t")
    assert services.deletions.run_one(record, time.monotonic() + 30)
    assert services.auth.principals.robots("acme") == []
    assert "acme" not in services.auth.principals.get("user", "alice").roles
