"""/v2/<name>/tags/list: sorted, paginated with n/last and a Link header."""
from __future__ import annotations

import json

from .base import Request, Response, fetch_limit, json_response, page, parse_limit, require_name


def list_tags(request: Request, match, services) -> Response:
    name = require_name(match.name)
    limit = parse_limit(request)
    tags, headers = page(services.content.tags(name, request.param("last"), fetch_limit(limit)), limit,
                         f"/v2/{name}/tags/list")
    return json_response(200, json.dumps({"name": str(name), "tags": tags}).encode(), **headers)


HANDLERS = {"GET": list_tags}
