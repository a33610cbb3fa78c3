"""The document's content part: registries (admin/registries.py), repositories, their
tags and artifacts (admin/repositories.py, admin/artifacts.py, registry/artifacts.py),
retention and garbage collection (admin/maintenance.py) and usage (admin/usage.py)."""
from __future__ import annotations

from chalicelib.metering.report import GRANULARITIES
from chalicelib.oci.names import COMPONENT_RE, MAX_NAME_LENGTH, MAX_REGISTRY_LENGTH, TAG_RE
from chalicelib.registry.policy import SEVERITIES
from chalicelib.registry.registries import VISIBILITIES
from chalicelib.store.usage import COUNTERS

from .parts import (BOOLEAN, ETAG, FLAG, IF_MATCH, MAYBE_TIME, TIME, anchored, answer, array, body, integer,
                    nullable, obj, operation, path, query, ref, string)

REGISTRY_NAME = COMPONENT_RE.pattern
REGISTRY = string(pattern=anchored(REGISTRY_NAME), maxLength=MAX_REGISTRY_LENGTH)
# The repository inside a registry: <registry>/<repository> is at most 255 characters.
REPOSITORY = string(pattern=anchored(rf"{REGISTRY_NAME}(?:/{REGISTRY_NAME})*"), maxLength=MAX_NAME_LENGTH - 2)
TAG = string(pattern=anchored(TAG_RE.pattern))
# Digests the registry takes (oci/digest.py): sha256 or sha512 in lowercase hex.
DIGEST = string(pattern="^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
BUCKET = string(pattern="^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
                description="Its own S3 bucket, which must exist (no '..'); fixed at creation.")
_REGISTRIES, _REPOSITORIES, _MAINTENANCE = "registries", "repositories", "maintenance"

# registry/policy.py: tag globs over the tag grammar, vulnerability ids, limits.
TAG_PATTERN = string(pattern=r"^[A-Za-z0-9_*?][A-Za-z0-9._*?-]{0,127}$")
VULNERABILITY = string(pattern=r"^[A-Z][A-Z0-9]{1,15}-[A-Za-z0-9._:-]{1,64}$")
_DAYS = integer(1, 36_500)
_POLICY_FIELDS = {
    "scan_on_push": nullable(BOOLEAN),
    "block_pull": nullable(obj({
        "severity": string(enum=list(SEVERITIES), description="Any case; stored in upper case."),
        "allowlist": array(VULNERABILITY, maxItems=500),
        "allowlist_expires_at": nullable(TIME)}, required=["severity"])),
    "immutable_tags": nullable(array(TAG_PATTERN, maxItems=20)),
    "retention": nullable(array({"oneOf": [
        obj({"keep_last": integer(1, 100_000), "tags": TAG_PATTERN}, required=["keep_last"]),
        obj({"untagged_older_than_days": _DAYS}),
        obj({"not_pulled_for_days": _DAYS, "tags": TAG_PATTERN}, required=["not_pulled_for_days"])]},
        maxItems=20)),
}
_REGISTRY_FIELDS = {
    "name": string(), "description": string(), "visibility": string(enum=list(VISIBILITIES)),
    "quota_bytes": nullable(integer()), "bucket": nullable(string()), "policy": ref("ContentPolicy"),
    "created_at": TIME, "status": string(enum=["active", "deleting"]), "revision": integer(),
}
_REPOSITORY_FIELDS = {
    "registry": string(), "name": string(), "full_name": string(), "description": string(),
    "created_at": MAYBE_TIME, "last_push": MAYBE_TIME, "last_pull": MAYBE_TIME,
    "policy": ref("ContentPolicy"), "revision": integer(),
}
_ARTIFACT_FIELDS = {
    "digest": string(), "media_type": string(), "artifact_type": nullable(string()), "tags": array(string()),
    "pushed_at": MAYBE_TIME, "pushed_by": nullable(string()), "last_pull": MAYBE_TIME,
    "subject": nullable(string(description="The digest of the manifest this one refers to.")),
    "scan": nullable({"type": "object", "description": "The latest scan's summary (severity_counts, "
                                                       "vulnerabilities by severity, …)."}),
    "size": integer(description="The manifest's bytes and those of what it references."),
}
_REFERRERS = array(obj({"digest": string(), "media_type": string(), "artifact_type": nullable(string()),
                        "size": integer(), "annotations": {"type": "object", "additionalProperties": string()}}))
_PLATFORMS = array(ref("Platform"))
# Counts of the hour; bytes_linked is net (blob.unlinked takes away what blob.linked added).
_COUNTERS = {name: integer(None if name == "bytes_linked" else 0) for name in COUNTERS}
_DELETION = obj({"requested_at": TIME, "requested_by": string(),
                 "removed": {"type": "object", "additionalProperties": integer(),
                             "description": "What is gone so far: tags, manifests, repositories, blobs, bytes."}})
_REPO_DELETED = obj({"name": string(), "status": string(enum=["deleted", "deleting"]),
                     "removed": {"type": "object", "additionalProperties": integer()}})

SCHEMAS = {
    "ContentPolicy": obj(_POLICY_FIELDS, required=[], description=(
        "What a registry (or, key by key, a repository) asks of its images. At most 32 KiB. A key set to null "
        "switches a registry's setting off in a repository. Unknown keys are refused.")),
    "Registry": obj(_REGISTRY_FIELDS),
    "RegistryDetail": {"oneOf": [
        obj({**_REGISTRY_FIELDS, "status": string(const="active"), "stored_bytes": integer(),
             "repository_count": integer(), "last_push": MAYBE_TIME}),
        obj({**_REGISTRY_FIELDS, "status": string(const="deleting"), "deletion": nullable(_DELETION)})]},
    "Repository": obj(_REPOSITORY_FIELDS),
    "RepositoryDetail": obj({**_REPOSITORY_FIELDS, "tag_count": integer(), "artifact_count": integer(),
                             "size_bytes": integer(), "status": string(enum=["active", "deleting"])}),
    "Tag": obj({"name": string(), "digest": string(), "media_type": string(), "artifact_type": nullable(string()),
                "pushed_at": MAYBE_TIME, "pushed_by": nullable(string()), "immutable": BOOLEAN}),
    "Artifact": obj({**_ARTIFACT_FIELDS, "platforms": _PLATFORMS}, required=list(_ARTIFACT_FIELDS),
                    description="platforms: an index's children's platforms."),
    # One of three kinds: an image (config, layers), an index (manifests), or a manifest that
    # cannot be parsed any more (stored before a stricter check): shown without either.
    "ArtifactDetail": {"oneOf": [
        obj({**_ARTIFACT_FIELDS, "config": ref("Descriptor"), "layers": array(ref("Descriptor")),
             "created": nullable(string(description="The image config's own `created`.")),
             "referrers": _REFERRERS}),
        obj({**_ARTIFACT_FIELDS, "platforms": _PLATFORMS, "manifests": array(ref("Descriptor")),
             "referrers": _REFERRERS}),
        obj({**_ARTIFACT_FIELDS, "referrers": _REFERRERS})]},
    "Descriptor": obj({"mediaType": string(), "artifactType": string(), "digest": string(), "size": integer(),
                       "urls": array(string()), "annotations": {"type": "object", "additionalProperties": string()},
                       "platform": ref("Platform")}, required=["mediaType", "digest", "size"],
                      description="An OCI descriptor, as in the manifest."),
    "Platform": obj({"architecture": string(), "os": string(), "os.version": string(),
                     "os.features": array(string()), "variant": string()}, required=["architecture", "os"]),
}

_REGISTRY = path("registry", REGISTRY, "The registry.", "acme")
_REPOSITORY_DESCRIPTION = ("The repository inside the registry. It spans path segments: its slashes are "
                           "sent as they are.")
_REPO = [_REGISTRY, path("repository", REPOSITORY, _REPOSITORY_DESCRIPTION, "team/app")]
_REFERENCE = path("reference", {"anyOf": [TAG, DIGEST]}, "A tag or a digest.", "v1")
_DRY_RUN = query("dry_run", FLAG, "Only show what would go.")
_REPO_PATH = "/registries/{registry}/repositories/{repository+}"


def _registry_body(required: list[str], **extra) -> dict:
    fields = {"description": nullable(string(maxLength=1024)), "visibility": string(enum=list(VISIBILITIES)),
              "quota_bytes": nullable(integer(0, 1 << 60, description="Unique bytes stored at most (null: no quota).")),
              "policy": nullable(ref("ContentPolicy")),
              "scan_on_push": nullable(BOOLEAN)}
    return obj({**fields, **extra}, required=required)


OPERATIONS = {
    ("GET", "/registries"): operation(
        _REGISTRIES, "List the registries the caller may describe",
        {200: answer(obj({"registries": array(ref("Registry"))}), "The registries.")}),
    ("POST", "/registries"): operation(
        _REGISTRIES, "Create a registry", {201: answer(ref("Registry"), "The registry.", ETAG)}, errors=[403, 409],
        request=body(_registry_body(["name"], name=REGISTRY, bucket=nullable(BUCKET)),
            "The registry. Unknown fields are refused.",
            {"name": "acme", "description": "Team A's images", "quota_bytes": 10 << 30, "scan_on_push": True})),
    ("GET", "/registries/{registry}"): operation(
        _REGISTRIES, "Describe a registry", {200: answer(ref("RegistryDetail"), "The registry, with what it holds (or, "
                                                                         "while it is deleted, the progress).", ETAG)},
        errors=[403, 404], params=[_REGISTRY]),
    ("PATCH", "/registries/{registry}"): operation(
        _REGISTRIES, "Change a registry's settings", {200: answer(ref("Registry"), "The registry.", ETAG)},
        errors=[403, 404, 409, 412], params=[_REGISTRY, IF_MATCH],
        request=body({**_registry_body([]), "minProperties": 1}, "What changes. Unknown fields are refused.",
                     {"visibility": "public", "policy": {"immutable_tags": ["release-*"]}}),
        description="409 when the quota would be below what the registry stores."),
    ("DELETE", "/registries/{registry}"): operation(
        _REGISTRIES, "Delete a registry", {202: answer(
            obj({"name": string(), "status": string(enum=["deleted", "deleting"]), "deletion": _DELETION}),
            "Deleted, or being deleted in the background.",
            {"Location": {"description": "The registry, which answers 404 once it is gone.", "schema": string()}})},
        errors=[400, 403, 404, 409],
        params=[path("registry", REGISTRY, "The registry.", "retired"),
                query("force", FLAG, "Delete what it holds too.")],
        description="409 when it holds repositories and force is not true."),

    ("GET", "/registries/{registry}/repositories"): operation(
        _REPOSITORIES, "List a registry's repositories",
        {200: answer(obj({"repositories": array(ref("Repository")), "next_cursor": string()},
                         required=["repositories"]), "A page; next_cursor when another follows.")},
        errors=[400, 403, 404], params=[
            _REGISTRY, query("limit", integer(1, 1000), "Page size (100 by default)."),
            query("q", string(), "Only names containing this (lower-cased)."),
            query("cursor", string(), "The next_cursor of the page before.")]),
    ("GET", _REPO_PATH): operation(
        _REPOSITORIES, "Describe a repository", {200: answer(ref("RepositoryDetail"), "The repository.", ETAG)},
        errors=[400, 403, 404], params=_REPO),
    ("PATCH", _REPO_PATH): operation(
        _REPOSITORIES, "Change a repository's description or content policy",
        {200: answer(ref("Repository"), "The repository.", ETAG)}, errors=[403, 404, 412], params=[*_REPO, IF_MATCH],
        request=body(obj({"description": string(maxLength=1024), "policy": nullable(ref("ContentPolicy"))},
                         required=[], minProperties=1), "What changes (policy null: none of its own).",
                     {"description": "The web front end", "policy": {"retention": [{"keep_last": 10, "tags": "v*"}]}})),
    ("DELETE", _REPO_PATH): operation(
        _REPOSITORIES, "Delete a repository", {200: answer(_REPO_DELETED, "Deleted."),
                                               202: answer(_REPO_DELETED, "Being deleted in the background.")},
        errors=[400, 403, 404],
        params=[_REGISTRY, path("repository", REPOSITORY, _REPOSITORY_DESCRIPTION, "team/old")]),
    ("GET", _REPO_PATH + "/-/policy"): operation(
        _REPOSITORIES, "The content policy that applies to a repository",
        {200: answer(obj({"registry_policy": ref("ContentPolicy"), "repository_policy": ref("ContentPolicy"),
                          "effective": obj({**_POLICY_FIELDS, "scan_on_push": BOOLEAN}, required=["scan_on_push"]),
                          "sources": {"type": "object", "additionalProperties": string(enum=["registry", "repository"]),
                                      "description": "Where each setting comes from."}}),
                     "The registry's policy with the repository's keys laid over it.")},
        errors=[400, 403, 404], params=_REPO),
    ("GET", _REPO_PATH + "/-/tags"): operation(
        _REPOSITORIES, "List a repository's tags", {200: answer(obj({"tags": array(ref("Tag"))}), "The tags.")},
        errors=[400, 403, 404], params=_REPO),
    ("DELETE", _REPO_PATH + "/-/tags/{tag}"): operation(
        _REPOSITORIES, "Delete a tag", {200: answer(obj({"deleted": string()}), "Deleted (the artifact stays).")},
        errors=[400, 403, 404], params=[*_REPO, path("tag", TAG, "The tag.", "stale")],
        description="403 for a tag an immutable_tags pattern protects."),
    ("GET", _REPO_PATH + "/-/artifacts"): operation(
        _REPOSITORIES, "List a repository's artifacts",
        {200: answer(obj({"artifacts": array(ref("Artifact"))}), "The artifacts (manifests).")},
        errors=[400, 403, 404], params=_REPO),
    ("GET", _REPO_PATH + "/-/artifacts/{reference}"): operation(
        _REPOSITORIES, "Describe an artifact", {200: answer(ref("ArtifactDetail"), "The artifact.")},
        errors=[400, 403, 404], params=[*_REPO, _REFERENCE]),
    ("DELETE", _REPO_PATH + "/-/artifacts/{reference}"): operation(
        _REPOSITORIES, "Delete an artifact and its tags", {200: answer(obj({"deleted": string()}), "Deleted.")},
        errors=[400, 403, 404], params=[*_REPO, path("reference", DIGEST, "The artifact's digest (a tag is 400).",
                                                      "sha256:" + "0" * 64)],
        description="403 when one of its tags is immutable."),

    ("POST", "/gc"): operation(
        _MAINTENANCE, "Collect garbage now", {200: answer(obj({
            "dry_run": BOOLEAN, "marks_read": integer(), "bytes_freed": integer(),
            "blob_links": array(obj({"registry": string(), "repository": string(), "digest": string()})),
            "blobs": array(obj({"registry": string(), "digest": string(), "size": integer()})),
            "manifest_objects": array(obj({"registry": string(), "repository": string(), "digest": string()})),
            "uploads_aborted": integer()}), "What was (or would be) removed.")},
        errors=[400, 403], params=[_DRY_RUN]),
    ("POST", "/registries/{registry}/retention"): operation(
        _MAINTENANCE, "Apply a registry's retention rules now", {200: answer(obj({
            "registry": string(), "dry_run": BOOLEAN, "bytes_freed": integer(),
            "repositories": array(obj({
                "repository": string(), "bytes_freed": integer(),
                "tags": array(obj({"tag": string(), "digest": string(), "reason": string()})),
                "manifests": array(obj({"digest": string(), "reason": string(), "size": integer()}))}))}),
            "What was (or would be) deleted, repository by repository.")},
        errors=[400, 403, 404], params=[_REGISTRY, _DRY_RUN,
                                        query("repository", REPOSITORY, "Only this repository.")]),

    ("GET", "/registries/{registry}/usage"): operation(
        "usage", "A registry's (or repository's) usage, hour by hour or day by day", {200: answer(obj({
            "registry": string(), "repository": nullable(string()), "granularity": string(enum=list(GRANULARITIES)),
            "from": TIME, "to": TIME,
            "buckets": array(obj({"start": TIME, **_COUNTERS, "bytes_stored": nullable(integer())})),
            "totals": obj({**_COUNTERS, "bytes_stored": nullable(integer())})}),
            "Every hour (day) of the range, zero-filled; bytes_stored is null in a repository's report.")},
        errors=[400, 403, 404], params=[
            _REGISTRY, query("granularity", string(enum=list(GRANULARITIES)), "hour (default) or day."),
            query("repository", REPOSITORY, "Only this repository."),
            query("from", string(format="date-time"), "Start (default: 24 hours before `to`)."),
            query("to", string(format="date-time"), "End (default: the end of the current hour); "
                                                      "at most 31 days (hour) or 92 days (day) after `from`.")]),
}
