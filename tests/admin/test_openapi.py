"""/api/v1/openapi.json: served to anyone, lists exactly the route table, is valid OpenAPI
3.1, and the server keeps to it: schemathesis sends every operation generated requests
(valid and invalid) and checks that no answer is a 5xx and that every answer's status,
content type, headers and body are the documented ones."""
from __future__ import annotations

import os
import re
import secrets
from collections import Counter
from urllib.parse import unquote

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.admin.apidoc import document, identity
from chalicelib.admin.apidoc import registry as registry_doc
from chalicelib.admin.http import load_routes
from chalicelib.auth import principals
from chalicelib.oci import Digest, OciError, RepoName, Tag, parse_registry_name
from chalicelib.registry import policy, registries
from tests.admin.conftest import TIMEOUT, Admin
from tests.registry.helpers import artifact
from tests.support.images import build_image, build_index, tar_layer
from tests.support.servers import start_registry, stop_registry

# The bound: examples per operation in the fuzzing phase (the examples and coverage phases
# send what the document's examples and boundaries give, ~2,500 requests); derandomized, so
# every run sends the same requests. 10: about 5 minutes on 2 cores, most of it scrypt
# checking the administrator's password on every request.
MAX_EXAMPLES = int(os.environ.get("MOORAGE_OPENAPI_EXAMPLES", "10"))
ADMIN, PASSWORD = "admin", secrets.token_urlsafe(16)  # start_registry's administrator
STATUSES: dict[str, Counter] = {}  # method and path -> statuses answered
SEEDED: dict[tuple[str, str], str] = {}  # (path parameter, documented example) -> what the seed made
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# And: what the document calls invalid is refused (4xx), so its constraints are the code's.
# Not for a repository in the path: schemathesis judges the %2F it sends for '/' invalid.
CHECKS_WITH_REJECTION = [*CHECKS, negative_data_rejection]


def _document(base_url: str) -> dict:
    response = requests.get(f"{base_url}/api/v1/openapi.json", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


# ---- the document ---------------------------------------------------------------------

def test_served_to_anyone_and_lists_exactly_the_route_table(moorage):
    served = _document(moorage.url)
    assert served == document()
    assert served["openapi"] == "3.1.0"
    documented = {(method.upper(), path) for path, item in served["paths"].items() for method in item}
    routed = {(r.method, r.path.replace("+}", "}")) for r in load_routes()}
    assert documented == routed
    operation_ids = [op["operationId"] for item in served["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_is_valid_openapi_3_1(moorage):
    schemathesis.openapi.from_dict(_document(moorage.url)).validate()


def _fullmatch(pattern: str):
    return lambda text: re.fullmatch(pattern, text) is not None


def _strings(alphabet: str):
    """Text of these characters, and runs of one of them as long as the limits we keep, give or take one."""
    lengths = st.sampled_from([n + d for n in (1, 2, 16, 63, 64, 65, 80, 128, 129, 253, 255, 256) for d in (-1, 0, 1)])
    return st.one_of(st.text(alphabet, max_size=70), st.builds(lambda c, n: c * n, st.sampled_from(alphabet), lengths))


def _accepts(parse):
    def accepted(text: str) -> bool:
        try:
            parse(text)
        except (OciError, ValueError):
            return False
        return True
    return accepted


# (what the document says, what the code does, characters worth trying): where the code keeps
# a grammar private, the document writes it out; where it exports a parser, its limits count too.
_GRAMMARS = {
    "principal name": (identity.PRINCIPAL_NAME, principals._NAME.pattern, "ab09._-A/+"),
    "policy name": (identity.POLICY_NAME, principals._POLICY_NAME.pattern, "aZ09+=,.@_- /"),
    "tag pattern": (registry_doc.TAG_PATTERN["pattern"], policy._PATTERN.pattern, "aZ09_.-*? /"),
    "vulnerability id": (registry_doc.VULNERABILITY["pattern"], policy._VULN_ID.pattern, "CVEZa09-._: "),
    "bucket": (registry_doc.BUCKET["pattern"], registries._BUCKET.pattern, "az09.-_A"),
}
_PARSED = {
    "registry": (registry_doc.REGISTRY, _accepts(parse_registry_name), "az09._-A/"),
    "digest": (registry_doc.DIGEST, _accepts(Digest.parse), "sha256:af09Z"),
    "tag": (registry_doc.TAG, _accepts(Tag.parse), "aZ09_.-:"),
    # In a registry of one character, as the document's maxLength assumes.
    "repository": (registry_doc.REPOSITORY, _accepts(lambda text: RepoName.parse(f"a/{text}")), "az09._-/A"),
}


@pytest.mark.parametrize("name", _GRAMMARS)
@settings(max_examples=300, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_documents_grammars_are_the_codes(name, data):
    documented, coded, alphabet = _GRAMMARS[name]
    text = data.draw(st.one_of(st.from_regex(coded, fullmatch=True), st.from_regex(documented, fullmatch=True),
                               _strings(alphabet)))
    assert _fullmatch(documented)(text) == _fullmatch(coded)(text), repr(text)


@pytest.mark.parametrize("name", _PARSED)
@settings(max_examples=300, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_documents_names_are_what_the_parsers_take(name, data):
    schema, parses, alphabet = _PARSED[name]
    text = data.draw(st.one_of(st.from_regex(schema["pattern"], fullmatch=True), _strings(alphabet)))
    documented = _fullmatch(schema["pattern"])(text) and len(text) <= schema.get("maxLength", len(text))
    assert documented == parses(text), repr(text)


# ---- the server keeps to it ------------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    """A server of its own: fuzzing deletes and changes what it finds, which the other
    tests' server must keep."""
    if os.environ.get("MOORAGE_TEST_TARGET", "moorage") != "moorage" or os.environ.get("MOORAGE_TEST_HOST"):
        pytest.skip("fuzzing needs a moorage server of its own")
    running = start_registry("moorage", tmp_path_factory.mktemp("openapi-fuzz"), password=PASSWORD)
    try:
        _seed(Admin(running))
        yield running
    finally:
        stop_registry(running)


def _seed(admin: Admin) -> None:
    """What the document's examples name, so that the examples reach the success paths;
    deletions name things of their own (retired, team/old, stale, bob, …) that nothing else needs."""
    for name in ("acme", "retired"):
        admin.ok("POST", "/registries", 201, json={"name": name, "policy": {"immutable_tags": ["release-*"]}})
    image = build_image([tar_layer({"etc/a": b"a"})])
    admin.v2.push("acme/team/app", image, "v1")
    admin.v2.push("acme/team/app", build_image([tar_layer({"etc/a": b"stale"})]), "stale")
    admin.v2.push("acme/team/app", build_index([build_image([tar_layer({"arm": b"arm"})], arch="arm64")]), "multi")
    sbom = artifact(image, "application/vnd.example.sbom", subject=image)
    assert admin.v2.put_manifest("acme/team/app", sbom.digest, sbom.manifest).status_code == 201
    old = build_image([tar_layer({"etc/a": b"old"})])
    admin.v2.push("acme/team/app", old, "old")
    admin.v2.push("acme/team/old", old, "1")
    for group in ("developers", "contractors"):
        admin.ok("POST", "/groups", 201, json={"name": group})
    for user in ("alice", "bob"):
        admin.ok("POST", "/users", 201, json={"name": user, "password": "correct horse", "groups": ["developers"]})
    for robot in ("ci", "old-ci"):
        admin.ok("POST", "/registries/acme/robots", 201, json={"name": robot, "role": "Developer"})
    webhooks = [admin.ok("POST", "/registries/acme/webhooks", 201, json={"url": url, "enabled": False})["id"]
                for url in ("https://hooks.example.com/moorage", "https://hooks.example.com/old")]
    _publish_vulndb(admin)
    # The document's example ids stand for these.
    SEEDED.update({("reference", "sha256:" + "0" * 64): old.digest, ("id", "5f2b9c0d1e3a4b6c"): webhooks[0],
                   ("id", "0a1b2c3d4e5f6a7b"): webhooks[1]})


def _publish_vulndb(admin: Admin) -> None:
    """A vulnerability DB, as `moorage vulndb import` publishes one (GET /vulndb then answers)."""
    import hashlib
    import tempfile
    from pathlib import Path

    from chalicelib.scanner import import_osv
    from tests.scanner.builders import osv, write_osv

    with tempfile.TemporaryDirectory() as work:
        db_file = Path(work) / "vulndb.sqlite"
        import_osv([write_osv(Path(work) / "osv", [osv("PYSEC-2099-1", "PyPI", "example", [{"introduced": "0"}])])],
                   db_file)
        data = db_file.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    target = admin.ok("POST", "/vulndb/uploads", 201, json={"size": len(data), "sha256": sha256})
    assert requests.put(target["url"], data=data, headers=target["headers"], timeout=60).status_code == 200
    admin.ok("POST", "/vulndb", 201, json={"upload": target["upload"], "sha256": sha256})


def _takes_the_administrator_away(case) -> bool:
    """Deleting the administrator the fuzzing logs in as, or changing its password, groups or
    policies: every call after would be 401 or 403. Left out; everything else is sent."""
    return case.method != "GET" and (case.path_parameters or {}).get("name") == ADMIN


class _RepositorySlashes(requests.Session):
    """An OpenAPI path parameter cannot hold '/', so schemathesis sends a repository's
    slashes as %2F; `{repository+}` spans path segments and takes them as they are."""

    _REPOSITORY = re.compile(r"(/repositories/)([^/?]+)")

    def send(self, request, **kwargs):
        request.url = self._REPOSITORY.sub(lambda m: m[1] + m[2].replace("%2F", "/"), request.url, count=1)
        return super().send(request, **kwargs)


_SESSION = _RepositorySlashes()
# Loaded from the document in process (the first test holds it equal to the served one),
# since the schema is needed when tests are collected; requests go to the fuzz server.
schema = schemathesis.openapi.from_dict(document(), config=schemathesis.Config.from_dict({
    "auth": {"openapi": {"basic": {"username": ADMIN, "password": PASSWORD}}},
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
}))


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_server_keeps_to_the_document(case, fuzz_target):
    if _takes_the_administrator_away(case):
        return
    if case.path_parameters:  # the document's example ids stand for what the seed made (values come quoted)
        case.path_parameters = {k: SEEDED.get((k, unquote(v)), v) for k, v in case.path_parameters.items()}
    checks = CHECKS if "{repository}" in case.path else CHECKS_WITH_REJECTION
    response = case.call_and_validate(base_url=f"{fuzz_target.url}/api/v1", session=_SESSION, checks=checks,
                                      timeout=TIMEOUT)
    STATUSES.setdefault(f"{case.method} {case.path}", Counter())[response.status_code] += 1


def test_the_fuzzing_reached_every_operations_success():
    """Else a success's schema went unchecked. (POST /auth/oidc: no IdP is configured here;
    POST /vulndb: only a file uploaded through POST /vulndb/uploads succeeds, as the seed shows.)"""
    if not STATUSES:
        pytest.skip("runs after test_the_server_keeps_to_the_document")
    documented = {f"{method.upper()} {path}" for path, item in schema.raw_schema["paths"].items() for method in item}
    missed = {op: dict(STATUSES.get(op, {})) for op in sorted(documented - {"POST /auth/oidc", "POST /vulndb"})
              if not any(200 <= status < 300 for status in STATUSES.get(op, ()))}
    assert not missed, missed
