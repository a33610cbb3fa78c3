"""Discovery workflow (conformance 03_discovery): tags/list with n/last pagination and
Link headers, the _catalog, and the referrers API with its artifactType filter."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.registry.helpers import artifact, assert_error, sha256, unique_repo
from tests.support.images import OCI, build_image, build_index

# What moorage's scanner attaches to a scanned image (chalicelib/scanner/service.py).
SBOM_TYPE = "application/vnd.cyclonedx+json"
REPORT_TYPE = "application/vnd.moorage.scan.report.v1+json"

TAGS = ["1.0", "Z-upper", "_under", "latest", "v1", "v10"]
LINK_RE = re.compile(r'^<(?P<url>[^>]+)>;\s*rel="next"$')


def next_link(response) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    match = LINK_RE.match(link.strip())
    assert match, f"Link header is not RFC 8288 <url>; rel=\"next\": {link!r}"
    return match["url"]


def walk(api, url: str) -> list[list]:
    """Follow rel="next" links from `url`; the pages' lists, in order."""
    pages = []
    for _ in range(1000):
        response = api.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body.get("tags", body.get("repositories")))
        url = next_link(response)
        if url is None:
            return pages
    raise AssertionError("pagination does not end")


# ---- tags -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tagged(api, seed):
    repo = unique_repo("tags")
    api.copy_image(seed, repo, TAGS[0])
    for tag in TAGS[1:]:
        assert api.put_manifest(repo, tag, seed.image.manifest).status_code == 201
    return repo


def test_tags_list_is_sorted(api, tagged):
    response = api.tags(tagged)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    assert response.json() == {"name": tagged, "tags": sorted(TAGS)}
    assert "Link" not in response.headers


def test_tags_n_limits_and_links_to_the_next_page(api, tagged):
    everything = sorted(TAGS)
    response = api.tags(tagged, n=3)
    assert response.status_code == 200
    assert response.json()["tags"] == everything[:3]
    url = next_link(response)
    assert url is not None
    parts = urlsplit(url)
    assert parts.path == f"/v2/{tagged}/tags/list"
    assert parse_qs(parts.query) == {"n": ["3"], "last": [everything[2]]}


def test_tags_walking_the_links_yields_every_tag_once(api, tagged):
    for n in (1, 2, 3, len(TAGS) - 1):
        pages = walk(api, api.v2(tagged, "tags", "list") + f"?n={n}")
        assert all(0 < len(page) <= n for page in pages)
        assert [tag for page in pages for tag in page] == sorted(TAGS)


def test_tags_last_starts_after_the_given_tag(api, tagged):
    everything = sorted(TAGS)
    assert api.tags(tagged, last=everything[2]).json()["tags"] == everything[3:]
    assert api.tags(tagged, n=2, last=everything[2]).json()["tags"] == everything[3:5]
    # `last` need not be a tag that exists.
    assert api.tags(tagged, last="m").json()["tags"] == [t for t in everything if t > "m"]
    past_the_end = api.tags(tagged, n=2, last="zzz")
    assert past_the_end.json()["tags"] == [] and "Link" not in past_the_end.headers


def test_tags_n_at_or_above_the_count_has_no_link(api, tagged):
    for n in (len(TAGS), len(TAGS) + 1, 1000):
        response = api.tags(tagged, n=n)
        assert response.json()["tags"] == sorted(TAGS)
        assert "Link" not in response.headers


def test_tags_n_zero_is_an_empty_list(api, tagged):
    response = api.tags(tagged, n=0)
    assert response.status_code == 200, response.text
    assert response.json() == {"name": tagged, "tags": []}


@pytest.mark.parametrize("n", ["-1", "abc", "1.5", "1e3", "0x10", "99999999999", " 3"])
def test_tags_invalid_n(api, tagged, n):
    assert_error(api.tags(tagged, n=n), 400, "PAGINATION_NUMBER_INVALID")


def test_tags_of_unknown_repository(api):
    assert_error(api.tags(unique_repo("never-pushed")), 404, "NAME_UNKNOWN")
    assert_error(api.tags("nosuch/app"), 404, "NAME_UNKNOWN")


# ---- catalog --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogued(api, seed):
    prefix = unique_repo("catalog")
    repos = [f"{prefix}/a", f"{prefix}/b", f"{prefix}/c"]
    for repo in repos:
        api.copy_image(seed, repo, "1")
    return repos


def test_catalog_lists_repositories_sorted(api, catalogued):
    response = api.get("/v2/_catalog")
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    names = response.json()["repositories"]
    assert names == sorted(names) and len(names) == len(set(names))
    assert set(catalogued) <= set(names)


def test_catalog_n_and_last(api, catalogued):
    a, b, c = catalogued
    response = api.get("/v2/_catalog", params={"n": 1, "last": a})
    assert response.status_code == 200
    assert response.json()["repositories"] == [b]
    url = next_link(response)
    assert url is not None and parse_qs(urlsplit(url).query) == {"n": ["1"], "last": [b]}
    assert api.get(url).json()["repositories"] == [c]
    assert api.get("/v2/_catalog", params={"n": 2, "last": a}).json()["repositories"] == [b, c]


def test_catalog_walking_the_links_yields_every_repository_once(api, catalogued):
    everything = api.catalog()
    pages = walk(api, api.url("/v2/_catalog?n=4"))
    assert all(0 < len(page) <= 4 for page in pages)
    assert [name for page in pages for name in page] == everything


def test_catalog_last_past_the_end(api, catalogued):
    response = api.get("/v2/_catalog", params={"n": 5, "last": "zzzz/zzzz"})
    assert response.json()["repositories"] == [] and "Link" not in response.headers


def test_catalog_n_zero_is_an_empty_list(api, catalogued):
    response = api.get("/v2/_catalog", params={"n": 0})
    assert response.status_code == 200, response.text
    assert response.json() == {"repositories": []}


@pytest.mark.parametrize("n", ["-1", "abc", "99999999999"])
def test_catalog_invalid_n(api, n):
    assert_error(api.get("/v2/_catalog", params={"n": n}), 400, "PAGINATION_NUMBER_INVALID")


def test_catalog_does_not_list_unknown_registries(api, catalogued):
    assert not [name for name in api.catalog() if not name.startswith("library/")]


# ---- referrers ------------------------------------------------------------------------

SBOM = "application/vnd.example.sbom.v1"
SIG = "application/vnd.example.signature.v1"


@pytest.fixture(scope="module")
def referred(api, seed):
    repo = unique_repo("referrers")
    subject = api.copy_image(seed, repo, "subject")
    sbom = artifact(seed.image, SBOM, subject=subject, annotations={"org.example.kind": "sbom"})
    # No artifactType: the config media type stands in for it (as oras pushes).
    sig = artifact(seed.image, None, subject=subject, annotations={"org.example.kind": "sig"},
                   config_media_type=SIG)
    for item in (sbom, sig):
        assert api.place(seed, repo, item).headers["OCI-Subject"] == subject.digest
    attestations = build_index([sbom], artifact_type=SBOM, subject=subject,
                               annotations={"org.example.kind": "index"})
    assert api.put_manifest(repo, attestations.digest, attestations.manifest).headers["OCI-Subject"] == subject.digest
    # A referrer of a subject that was never pushed.
    orphan_subject = build_image([b"never pushed"])
    orphan = artifact(seed.image, SIG, subject=orphan_subject)
    api.place(seed, repo, orphan)
    return {"repo": repo, "subject": subject, "sbom": sbom, "sig": sig, "index": attestations,
            "orphan_subject": orphan_subject, "orphan": orphan}


def referrers(api, repo: str, digest: str, **params):
    response = api.get(api.v2(repo, "referrers", digest), params=params or None)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == OCI.index
    body = response.json()
    assert body["schemaVersion"] == 2 and body["mediaType"] == OCI.index
    assert int(response.headers["Content-Length"]) == len(response.content)
    return response, body["manifests"]


def test_referrers_of_an_unknown_digest_is_an_empty_index(api, referred):
    _, manifests = referrers(api, referred["repo"], sha256(b"nothing refers to this"))
    assert manifests == []


def test_referrers_of_an_unknown_repository(api):
    response = api.get(api.v2(unique_repo("never-pushed"), "referrers", sha256(b"x")))
    assert response.status_code in (200, 404)
    if response.status_code == 404:
        assert_error(response, 404, "NAME_UNKNOWN")
    else:
        assert response.json()["manifests"] == []


def test_referrers_list(api, referred):
    response, manifests = referrers(api, referred["repo"], referred["subject"].digest)
    assert "OCI-Filters-Applied" not in response.headers
    # Scan on push attaches the subject's SBOM and scan report once the scan is done, which
    # may be before or after this listing: only those may come besides the test's own.
    scanner = {d["digest"] for d in manifests if d.get("artifactType") in (SBOM_TYPE, REPORT_TYPE)}
    manifests = [d for d in manifests if d["digest"] not in scanner]
    expected = {
        referred["sbom"].digest: (OCI.manifest, referred["sbom"].manifest.size, SBOM, "sbom"),
        referred["sig"].digest: (OCI.manifest, referred["sig"].manifest.size, SIG, "sig"),
        referred["index"].digest: (OCI.index, referred["index"].manifest.size, SBOM, "index"),
    }
    assert len(manifests) == len(expected)
    for descriptor in manifests:
        media_type, size, artifact_type, kind = expected[descriptor["digest"]]
        assert descriptor["mediaType"] == media_type
        assert descriptor["size"] == size
        assert descriptor["artifactType"] == artifact_type
        assert descriptor["annotations"] == {"org.example.kind": kind}


def test_referrers_filtered_by_artifact_type(api, referred):
    response, manifests = referrers(api, referred["repo"], referred["subject"].digest, artifactType=SBOM)
    assert response.headers["OCI-Filters-Applied"] == "artifactType"
    assert sorted(d["digest"] for d in manifests) == sorted([referred["sbom"].digest, referred["index"].digest])
    response, manifests = referrers(api, referred["repo"], referred["subject"].digest,
                                    artifactType="application/vnd.example.none")
    assert response.headers["OCI-Filters-Applied"] == "artifactType"
    assert manifests == []


def test_referrers_of_a_subject_that_was_never_pushed(api, referred):
    _, manifests = referrers(api, referred["repo"], referred["orphan_subject"].digest)
    assert [d["digest"] for d in manifests] == [referred["orphan"].digest]


def test_referrers_are_per_repository(api, referred):
    _, manifests = referrers(api, unique_repo("elsewhere"), referred["subject"].digest)
    assert manifests == []


def test_referrer_manifests_are_pullable(api, referred):
    for name in ("sbom", "sig", "index"):
        item = referred[name]
        response = api.get(api.v2(referred["repo"], "manifests", item.digest))
        assert response.status_code == 200 and response.content == item.manifest.data
        assert json.loads(response.content)["subject"]["digest"] == referred["subject"].digest


def test_referrers_with_an_invalid_digest(api, referred):
    assert_error(api.get(api.v2(referred["repo"], "referrers", "not-a-digest")), 400, "DIGEST_INVALID")
