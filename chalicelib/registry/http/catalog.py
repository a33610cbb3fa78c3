"""/v2/_catalog: repository names, sorted, paginated with n/last."""
from __future__ import annotations

import json

from .base import Request, Response, json_response, next_link, parse_limit


def list_repositories(request: Request, match, services) -> Response:
    limit, last = parse_limit(request), request.param("last")
    names = services.content.catalog(last, None if limit is None else limit + 1)
    headers = {}
    if limit is not None and len(names) > limit:
        names = names[:limit]
        headers["Link"] = next_link("/v2/_catalog", limit, names[-1])
    return json_response(200, json.dumps({"repositories": names}).encode(), **headers)


HANDLERS = {"GET": list_repositories}
