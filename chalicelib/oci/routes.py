"""The /v2 route table (distribution-spec, "Endpoints"): a path in, a route and its parameters out.

Names contain slashes and may contain route words ("acme/blobs/manifests/web"), so
each route is matched at the right end of the path and the name is whatever is
left; the name pattern is greedy, so the last route word wins. The table also says
which action each method needs, so the dispatcher authorizes once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from .digest import Digest
from .errors import Code, OciError
from .names import RepoName, Tag, parse_reference


class Route(Enum):
    BASE = "base"  # /v2/
    CATALOG = "catalog"  # /v2/_catalog
    TAGS = "tags"  # /v2/<name>/tags/list
    MANIFEST = "manifest"  # /v2/<name>/manifests/<reference>
    BLOB = "blob"  # /v2/<name>/blobs/<digest>
    UPLOAD_START = "upload_start"  # /v2/<name>/blobs/uploads/
    UPLOAD = "upload"  # /v2/<name>/blobs/uploads/<id>
    REFERRERS = "referrers"  # /v2/<name>/referrers/<digest>


class Action(Enum):
    PULL = "pull"
    PUSH = "push"
    DELETE = "delete"


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    name: RepoName | None = None
    reference: Tag | Digest | None = None  # MANIFEST
    digest: Digest | None = None  # BLOB, REFERRERS
    upload_id: str | None = None  # UPLOAD


# Anything up to the route words; RepoName.parse judges it afterwards, so a bad name
# is NAME_INVALID rather than an unknown route.
_NAME = r"/(?P<name>.+)"
_SEGMENT = r"[^/]+"
# Order matters: "blobs/uploads" before "blobs/<digest>".
_ROUTES = tuple(
    (route, re.compile(pattern, re.DOTALL))
    for route, pattern in (
        (Route.TAGS, rf"{_NAME}/tags/list"),
        (Route.UPLOAD_START, rf"{_NAME}/blobs/uploads/?"),
        (Route.UPLOAD, rf"{_NAME}/blobs/uploads/(?P<upload_id>{_SEGMENT})"),
        (Route.BLOB, rf"{_NAME}/blobs/(?P<digest>{_SEGMENT})"),
        (Route.MANIFEST, rf"{_NAME}/manifests/(?P<reference>{_SEGMENT})"),
        (Route.REFERRERS, rf"{_NAME}/referrers/(?P<digest>{_SEGMENT})"),
    )
)

# Upload ids are ours (opaque, URL-safe); anything else cannot be a live session.
_UPLOAD_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")

_ACTIONS: dict[Route, dict[str, Action]] = {
    Route.BASE: {"GET": Action.PULL, "HEAD": Action.PULL},
    Route.CATALOG: {"GET": Action.PULL},
    Route.TAGS: {"GET": Action.PULL},
    Route.REFERRERS: {"GET": Action.PULL},
    Route.MANIFEST: {
        "GET": Action.PULL,
        "HEAD": Action.PULL,
        "PUT": Action.PUSH,
        "DELETE": Action.DELETE,
    },
    Route.BLOB: {"GET": Action.PULL, "HEAD": Action.PULL, "DELETE": Action.DELETE},
    Route.UPLOAD_START: {"POST": Action.PUSH},
    Route.UPLOAD: {
        "GET": Action.PUSH,
        "PATCH": Action.PUSH,
        "PUT": Action.PUSH,
        "DELETE": Action.PUSH,
    },
}


def _unknown_route() -> OciError:
    return OciError(Code.UNSUPPORTED, status=404, message="unknown API route")


def _upload_id(text: str) -> str:
    if not _UPLOAD_ID_RE.fullmatch(text):
        raise OciError(Code.BLOB_UPLOAD_UNKNOWN, detail={"upload_id": text[:256]})
    return text


def match_route(path: str) -> RouteMatch:
    """Route the (already percent-decoded) part of a path after "/v2"."""
    if not isinstance(path, str):
        raise _unknown_route()
    if path in ("", "/"):
        return RouteMatch(Route.BASE)
    if path == "/_catalog":
        return RouteMatch(Route.CATALOG)
    for route, pattern in _ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        name = RepoName.parse(match["name"])
        if route is Route.MANIFEST:
            return RouteMatch(route, name, reference=parse_reference(match["reference"]))
        if route in (Route.BLOB, Route.REFERRERS):
            return RouteMatch(route, name, digest=Digest.parse(match["digest"]))
        if route is Route.UPLOAD:
            return RouteMatch(route, name, upload_id=_upload_id(match["upload_id"]))
        return RouteMatch(route, name)
    raise _unknown_route()


def action_for(route: Route, method: str) -> Action | None:
    """The action a method needs on a route; None when the method is not allowed."""
    return _ACTIONS[route].get(method)


def allowed_methods(route: Route) -> tuple[str, ...]:
    """The methods a route answers, for the Allow header of a 405."""
    return tuple(_ACTIONS[route])
