"""Request and response values shared by the /v2/ handlers, and the base route."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping
from urllib.parse import urlencode

from chalicelib.oci import Code, OciError, RepoName

API_VERSION = {"Docker-Distribution-API-Version": "registry/2.0"}


@dataclass(frozen=True)
class Request:
    """One HTTP request, read once at the edge (the local gateway serves many at a time)."""
    method: str
    path: str                                   # what follows /v2, percent-decoded
    query: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    headers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    source_ip: str = ""
    request_id: str = ""
    actor: str = "anonymous"                    # the caller's subject, once authorized
    base_url: str = ""                          # how the client reaches us (the token realm)
    access: tuple = ()                          # the access claim of the caller's token
    can_pull: Callable[[str], bool] | None = None  # catalog filter: may the caller pull <name>

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[-1] if values else None

    def header_values(self, name: str) -> list[str]:
        return list(self.headers.get(name.lower(), ()))

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass(frozen=True)
class Notice:
    """What a request did that is no storage change (a pull, a login, a refusal), for the
    edge to publish as a domain event (chalicelib/events/api.py)."""
    type: str                 # "artifact.pulled", "login.succeeded", "access.denied", ...
    actor: str                # the caller's subject ("anonymous" when unknown)
    name: str | None = None   # the repository, "registry/path"
    tag: str | None = None
    digest: str | None = None
    result: str = "success"
    details: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str | list[str]] = field(default_factory=dict)
    body: bytes = b""
    notice: Notice | None = None


def empty(status: int, **headers: str) -> Response:
    return Response(status, {**API_VERSION, "Content-Length": "0", **_dashed(headers)})


def json_response(status: int, body: bytes, **headers: str | list[str]) -> Response:
    return Response(status, {**API_VERSION, "Content-Type": "application/json",
                             "Content-Length": str(len(body)), **_dashed(headers)}, body)


def _dashed(headers: Mapping[str, str | list[str]]) -> dict[str, str | list[str]]:
    # Python keywords cannot hold dashes: Docker_Content_Digest -> Docker-Content-Digest.
    return {name.replace("_", "-"): value for name, value in headers.items()}


def parse_limit(request: Request) -> int | None:
    """The `n` query parameter of paginated lists."""
    text = request.param("n")
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 9:
        raise OciError(Code.PAGINATION_NUMBER_INVALID, detail={"n": text[:32]})
    return int(text)


def page(items: list[str], limit: int | None, path: str) -> tuple[list[str], dict[str, str]]:
    """Cut a list fetched with one item more than `limit` to a page, with a Link header when
    another page follows."""
    if limit is None or len(items) <= limit:
        return items, {}
    items = items[:limit]
    if not items:  # n=0
        return items, {}
    return items, {"Link": f'<{path}?{urlencode({"n": limit, "last": items[-1]})}>; rel="next"'}


def fetch_limit(limit: int | None) -> int | None:
    return None if limit is None else limit + 1


def require_name(name: RepoName | None) -> RepoName:
    assert name is not None  # the route table only routes named paths here
    return name


def version_check(request: Request, match, services) -> Response:
    return json_response(200, b"{}")


HANDLERS = {"GET": version_check, "HEAD": version_check}
