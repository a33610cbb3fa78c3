"""/v2/<name>/tags/list: sorted, paginated with n/last and a Link header."""
from __future__ import annotations

import json

from .base import Request, Response, json_response, next_link, parse_limit, require_name


def list_tags(request: Request, match, services) -> Response:
    name = require_name(match.name)
    limit, last = parse_limit(request), request.param("last")
    # One extra tells whether another page follows.
    tags = services.content.tags(name, last, None if limit is None else limit + 1)
    headers = {}
    if limit is not None and len(tags) > limit:
        tags = tags[:limit]
        headers["Link"] = next_link(f"/v2/{name}/tags/list", limit, tags[-1])
    body = json.dumps({"name": str(name), "tags": tags}).encode()
    return json_response(200, body, **headers)


HANDLERS = {"GET": list_tags}
