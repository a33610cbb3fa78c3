"""/api/v1/registries/{registry}/repositories: list (paginated, name search), describe,
update (description, content policy; ETag / If-Match) and delete repositories.

Repository names contain slashes: `{repository+}` spans them, and sub-resources follow
`/-/` (…/repositories/team/app/-/tags), which no repository name can contain."""
from __future__ import annotations

import base64
import binascii
import json
import time

from chalicelib.auth.policy import repository_resource
from chalicelib.oci import RepoName
from chalicelib.registry.artifacts import repository_json
from chalicelib.registry.policy import effective, parse_policy

from .http import ApiError, Call, expected_revision, is_number, json_response, route

REPO = "/registries/{registry}/repositories/{repository+}"
PULL = ("repository:Pull", "mrn:repository:{registry}/{repository}")
_PAGE_MAX = 1000
_MAX_DESCRIPTION = 1024


def repo_name(call: Call) -> RepoName:
    """The repository the path names (NAME_INVALID, 400, for what no repository is called)."""
    return RepoName.parse(f"{call.params['registry']}/{call.params['repository']}")


@route("GET", "/registries/{registry}/repositories", needs=("registry:DescribeRegistry", "mrn:registry:{registry}"))
def list_repositories(call: Call):
    registry = call.params["registry"]
    call.services.registries.get(registry)  # 404 for no such registry
    limit = _limit(call)
    query = (call.request.param("q") or "").lower()
    cursor = _cursor(call.request.param("cursor"))
    allowed = call.services.auth.checker(call.identity, {registry}, call.request.source_ip)
    found, after = [], cursor
    while len(found) <= limit:
        page = call.services.metadata.list_repository_records(registry, after=after, limit=_PAGE_MAX)
        for record in page:
            if query in record.name and allowed("repository:Pull", repository_resource(registry, record.name)):
                found.append(record)
        if len(page) < _PAGE_MAX:
            break
        after = page[-1].name
    body = {"repositories": [repository_json(r) for r in found[:limit]]}
    if len(found) > limit:
        body["next_cursor"] = base64.urlsafe_b64encode(found[limit - 1].name.encode()).decode()
    return json_response(200, body)


@route("GET", REPO, needs=PULL)
def get_repository(call: Call):
    view = call.services.artifacts.repository(repo_name(call), detail=True)
    return json_response(200, view, ETag=f'"{view["revision"]}"')  # for PATCH's If-Match, as registries do


@route("PATCH", REPO, needs=("repository:ManagePolicy", "mrn:repository:{registry}/{repository}"))
def update_repository(call: Call):
    name = repo_name(call)
    body = call.body()
    unknown = sorted(set(body) - {"description", "policy"})
    if unknown or not body:
        raise ApiError(400, "INVALID_ARGUMENT", "send 'description' and/or 'policy' (null removes the policy)")
    changes = {}
    if "description" in body:
        if not isinstance(body["description"], str) or len(body["description"]) > _MAX_DESCRIPTION:
            raise ApiError(400, "INVALID_ARGUMENT", f"description is a string of at most {_MAX_DESCRIPTION} characters")
        changes["description"] = body["description"]
    if "policy" in body:
        changes["policy"] = None if body["policy"] is None else json.dumps(parse_policy(body["policy"]),
                                                                            sort_keys=True)
    record = call.services.registries.update_repository(name, changes, call.identity.subject, expected_revision(call))
    return json_response(200, repository_json(record), ETag=f'"{record.revision}"')


@route("GET", REPO + "/-/policy", needs=PULL)
def effective_policy(call: Call):
    """The policy that applies: the registry's, with the repository's keys laid over it."""
    name = repo_name(call)
    registry = call.services.registries.get(name.registry)
    repository = call.services.metadata.get_repository(name.registry, name.repository)
    own = repository.policy if repository else None
    merged = {**(json.loads(registry.policy) if registry.policy else {}), **(json.loads(own) if own else {})}
    policy = effective(registry.policy, own)
    return json_response(200, {"registry_policy": json.loads(registry.policy) if registry.policy else {},
                               "repository_policy": json.loads(own) if own else {},
                               "effective": {**merged, "scan_on_push": policy.scan_on_push},
                               "sources": policy.sources})


@route("DELETE", REPO, needs=("repository:Delete", "mrn:repository:{registry}/{repository}"))
def delete_repository(call: Call):
    name = repo_name(call)
    deletions = call.services.deletions
    record = deletions.request_repository(name, call.identity.subject)
    done = deletions.run_one(record, time.monotonic() + 10.0)
    latest = deletions.status(name.registry, name.repository) or record
    return json_response(200 if done else 202, {"name": str(name), "status": "deleted" if done else "deleting",
                                                "removed": latest.removed})


def _limit(call: Call) -> int:
    text = call.request.param("limit") or "100"
    if not is_number(text, 4) or not 1 <= int(text) <= _PAGE_MAX:
        raise ApiError(400, "INVALID_ARGUMENT", f"limit is a whole number from 1 to {_PAGE_MAX}")
    return int(text)


def _cursor(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return base64.b64decode(text.encode(), altchars=b"-_", validate=True).decode()[:256]
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(400, "INVALID_ARGUMENT", "cursor is the next_cursor of an earlier page") from None
