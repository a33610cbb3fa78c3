"""/api/v1/…/repositories/{repository+}/-/tags and /-/artifacts: list, describe and delete
tags and artifacts (manifests) of a repository."""
from __future__ import annotations

from chalicelib.oci import Tag, parse_reference

from .http import ApiError, Call, json_response, route
from .repositories import PULL, REPO, repo_name

DELETE = ("repository:Delete", "mrn:repository:{registry}/{repository}")


@route("GET", REPO + "/-/tags", needs=PULL)
def list_tags(call: Call):
    return json_response(200, {"tags": call.services.artifacts.tags(repo_name(call))})


@route("DELETE", REPO + "/-/tags/{tag}", needs=DELETE)
def delete_tag(call: Call):
    name = repo_name(call)
    tag = str(Tag.parse(call.params["tag"]))
    call.services.manifests.delete_tag(name, tag, call.identity.subject)
    return json_response(200, {"deleted": f"{name}:{tag}"})


@route("GET", REPO + "/-/artifacts", needs=PULL)
def list_artifacts(call: Call):
    return json_response(200, {"artifacts": call.services.artifacts.artifacts(repo_name(call))})


@route("GET", REPO + "/-/artifacts/{reference}", needs=PULL)
def get_artifact(call: Call):
    return json_response(200, call.services.artifacts.artifact(repo_name(call), _reference(call)))


@route("DELETE", REPO + "/-/artifacts/{reference}", needs=DELETE)
def delete_artifact(call: Call):
    name = repo_name(call)
    reference = _reference(call)
    if ":" not in reference:
        raise ApiError(400, "INVALID_ARGUMENT", "delete an artifact by digest (sha256:…); a tag is deleted "
                                                "under /-/tags/{tag}")
    record = call.services.manifests.delete_manifest(name, reference, call.identity.subject)
    return json_response(200, {"deleted": f"{name}@{record.digest}"})


def _reference(call: Call) -> str:
    """A digest or a tag, checked against their grammars (400 otherwise)."""
    return str(parse_reference(call.params["reference"]))
