"""Build API Gateway REST (payload 1.0) proxy events, as API Gateway does for Lambda."""
from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qsl


def resource_for(path: str, resources: list[str]) -> tuple[str, dict[str, str]] | None:
    """The Chalice route template a path falls under: exact first, then a greedy {proxy+}."""
    if path in resources or path.rstrip("/") in resources:
        return path.rstrip("/") or "/", {}
    best = None
    for template in resources:
        if template.endswith("/{proxy+}"):
            prefix = template[: -len("{proxy+}")]
            if path.startswith(prefix) and len(path) > len(prefix):
                if best is None or len(prefix) > len(best[0]) - len("{proxy+}"):
                    best = (template, {"proxy": path[len(prefix):]})
    return best


def rest_event(method: str, path: str, query_string: str, headers: list[tuple[str, str]], body: bytes,
               source_ip: str, resource: str, path_params: dict[str, str], text_types: frozenset[str] = frozenset(),
               ) -> dict:
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    encoded, is_base64 = _body(body, _content_type(multi_headers), text_types)
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource, "httpMethod": method, "path": path, "stage": "local",
            "requestId": request_id, "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": (multi_headers.get("User-Agent") or [""])[-1]},
        },
        "body": encoded,
        "isBase64Encoded": is_base64,
    }


def _content_type(headers: dict[str, list[str]]) -> str:
    for name, values in headers.items():
        if name.lower() == "content-type":
            return values[-1].split(";")[0].strip().lower()
    return ""


class Base64Body(str):
    """A binary request body as API Gateway hands it to Lambda (base64 text) that also keeps
    the bytes it encodes: the local gateway's function need not decode what was just encoded
    (gateway.thread_safe). To anything else it is the str it always was."""

    raw: bytes


def _body(body: bytes, content_type: str, text_types: frozenset[str]) -> tuple[str | None, bool]:
    if not body:
        return None, False
    if content_type in text_types or content_type.endswith("+json") or content_type.startswith("text/"):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # not text after all: keep the bytes exact
    text = Base64Body(_b64encode(body), "ascii")  # decoded straight into the str (one copy)
    text.raw = body
    return text, True


def response_body(response: dict) -> bytes:
    body = response.get("body") or b""
    if response.get("isBase64Encoded"):
        return _b64decode(body)
    return body.encode("utf-8") if isinstance(body, str) else body


try:  # SIMD base64, ten times the standard library's speed on multi-MiB bodies (local extra)
    from pybase64 import b64decode as _b64decode
    from pybase64 import b64encode as _b64encode
except ImportError:  # pragma: no cover - same results, slower
    from base64 import b64decode as _b64decode
    from base64 import b64encode as _b64encode


class LambdaContext:
    """The few fields of the Lambda context object that handlers read."""

    function_name = "moorage-local"
    memory_limit_in_mb = 1024

    def __init__(self, request_id: str, timeout_s: float = 29.0):
        self.aws_request_id = request_id
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
