"""`moorage registry|repo|tag|artifact|gc|retention` as a user runs them."""
from __future__ import annotations

import json
import os
import uuid

import pytest

from tests.registry.helpers import Api
from tests.support.auth import authed_session
from tests.support.cli import Cli
from tests.support.images import build_image, tar_layer

pytestmark = pytest.mark.skipif(os.environ.get("MOORAGE_TEST_TARGET", "moorage") != "moorage",
                                reason="the management CLI is moorage's own")


@pytest.fixture(scope="module")
def admin(registry, tmp_path_factory) -> Cli:
    cli = Cli(registry, tmp_path_factory.mktemp("content-config"))
    cli.login(registry.username, registry.password)
    return cli


@pytest.fixture(scope="module")
def v2(registry) -> Api:
    return Api(registry.url, authed_session(registry), (registry.username, registry.password))


def test_registry_lifecycle(admin, tmp_path):
    name = "c" + uuid.uuid4().hex[:8]
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"immutable_tags": ["v*"]}))
    admin.ok("registry", "create", name, "--description", "team c", "--quota", "1GiB", "--scan-on-push", "off",
             "--policy", str(policy))
    found = admin.json("registry", "get", name)
    assert found["quota_bytes"] == 1 << 30 and found["policy"] == {"immutable_tags": ["v*"], "scan_on_push": False}
    table = admin.ok("registry", "get", name)
    assert "FIELD" in table.splitlines()[0] and "team c" in table
    admin.ok("registry", "update", name, "--visibility", "public", "--quota", "none")
    found = admin.json("registry", "get", name)
    assert found["visibility"] == "public" and found["quota_bytes"] is None
    assert "invalid tag pattern" in admin.fails("registry", "update", name, "--policy", "-",
                                                stdin='{"immutable_tags": ["[x"]}')
    assert "not a size" in admin.fails("registry", "update", name, "--quota", "lots")
    assert "does not exist" in admin.fails("registry", "get", "nosuchregistry")
    assert admin.ok("registry", "delete", name).startswith(f"registry {name}: deleted")


def test_repositories_tags_and_artifacts(admin, v2):
    name = "c" + uuid.uuid4().hex[:8]
    admin.ok("registry", "create", name, "--scan-on-push", "off")
    image = build_image([tar_layer({"a": b"a"})])
    v2.push(f"{name}/team/app", image, "1")
    v2.push(f"{name}/team/app", image, "2")
    assert "team/app" in admin.ok("repo", "list", name)
    assert [r["name"] for r in admin.json("repo", "list", name, "--search", "team")] == ["team/app"]
    assert admin.json("repo", "get", f"{name}/team/app")["tag_count"] == 2
    tags = admin.json("tag", "list", f"{name}/team/app")
    assert sorted(t["name"] for t in tags) == ["1", "2"]
    listed = admin.ok("artifact", "list", f"{name}/team/app")
    assert image.digest[:19] in listed and "1,2" in listed
    detail = admin.json("artifact", "get", f"{name}/team/app:1")
    assert detail["digest"] == image.digest and len(detail["layers"]) == 1
    assert admin.ok("tag", "delete", f"{name}/team/app:1").strip() == f"deleted {name}/team/app:1"
    assert "MANIFEST_UNKNOWN" in admin.fails("tag", "delete", f"{name}/team/app:1")
    admin.ok("artifact", "delete", f"{name}/team/app@{image.digest}")
    assert admin.json("tag", "list", f"{name}/team/app") == []
    admin.ok("repo", "update", f"{name}/team/app", "--description", "gone soon")
    assert admin.ok("repo", "delete", f"{name}/team/app").strip() == f"repository {name}/team/app: deleted"
    assert "REGISTRY/PATH" in admin.fails("repo", "get", name)


def test_retention_and_gc(admin, v2, tmp_path):
    name = "c" + uuid.uuid4().hex[:8]
    policy = tmp_path / "retention.json"
    policy.write_text(json.dumps({"retention": [{"keep_last": 1, "tags": "*"}]}))
    admin.ok("registry", "create", name, "--policy", str(policy), "--scan-on-push", "off")
    for n in range(2):
        v2.push(f"{name}/app", build_image([tar_layer({"n": b"%d" % n})]), f"t{n}")
    dry = admin.ok("retention", "run", name, "--dry-run")
    assert dry.startswith("would free") and "t0" in dry and "keep the 1 most recent" in dry
    assert len(admin.json("tag", "list", f"{name}/app")) == 2
    assert admin.ok("retention", "run", name).startswith("freed")
    assert [t["name"] for t in admin.json("tag", "list", f"{name}/app")] == ["t1"]
    assert admin.ok("gc", "--dry-run").startswith("would remove")
    assert admin.json("gc")["dry_run"] is False
