"""/v2/_catalog: repository names, sorted, paginated with n/last."""
from __future__ import annotations

import json

from .base import Request, Response, fetch_limit, json_response, page, parse_limit


def list_repositories(request: Request, match, services) -> Response:
    limit = parse_limit(request)
    names, headers = page(services.content.catalog(request.param("last"), fetch_limit(limit), request.can_pull), limit,
                          "/v2/_catalog")
    return json_response(200, json.dumps({"repositories": names}).encode(), **headers)


HANDLERS = {"GET": list_repositories}
