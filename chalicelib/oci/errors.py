"""Distribution-spec error codes, the one exception type, and the error body.

Each spec code is registered once with its HTTP status and default message (the
idea of Distribution's errcode package); code that raises adds a detail and, when
it helps the user, a more specific message. One function renders the body.
"""

from __future__ import annotations

import json
from enum import Enum


class Code(Enum):
    """A spec error code; the value is (code string, HTTP status, default message)."""

    BLOB_UNKNOWN = ("BLOB_UNKNOWN", 404, "blob unknown to registry")
    BLOB_UPLOAD_INVALID = ("BLOB_UPLOAD_INVALID", 400, "blob upload invalid")
    BLOB_UPLOAD_UNKNOWN = ("BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry")
    DIGEST_INVALID = ("DIGEST_INVALID", 400, "provided digest did not match uploaded content")
    MANIFEST_BLOB_UNKNOWN = (
        "MANIFEST_BLOB_UNKNOWN",
        404,
        "manifest references a manifest or blob unknown to registry",
    )
    MANIFEST_INVALID = ("MANIFEST_INVALID", 400, "manifest invalid")
    MANIFEST_UNKNOWN = ("MANIFEST_UNKNOWN", 404, "manifest unknown to registry")
    NAME_INVALID = ("NAME_INVALID", 400, "invalid repository name")
    NAME_UNKNOWN = ("NAME_UNKNOWN", 404, "repository name not known to registry")
    SIZE_INVALID = ("SIZE_INVALID", 400, "provided length did not match content length")
    UNAUTHORIZED = ("UNAUTHORIZED", 401, "authentication required")
    DENIED = ("DENIED", 403, "requested access to the resource is denied")
    UNSUPPORTED = ("UNSUPPORTED", 405, "the operation is unsupported")
    TOOMANYREQUESTS = ("TOOMANYREQUESTS", 429, "too many requests")
    # Not in the spec's table, but Distribution registers them with these statuses.
    TAG_INVALID = ("TAG_INVALID", 400, "manifest tag did not match URI")
    RANGE_INVALID = ("RANGE_INVALID", 416, "invalid content range")
    PAGINATION_NUMBER_INVALID = (
        "PAGINATION_NUMBER_INVALID",
        400,
        "invalid number of results requested",
    )
    UNAVAILABLE = ("UNAVAILABLE", 503, "service unavailable")

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def status(self) -> int:
        return self.value[1]

    @property
    def message(self) -> str:
        return self.value[2]


class OciError(Exception):
    """A protocol error: a spec code, an optional detail, message and status override."""

    def __init__(
        self,
        code: Code,
        detail: object = None,
        message: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.code = code
        self.headers = headers or {}  # e.g. the WWW-Authenticate challenge of a 401
        self.detail = detail
        self.message = message or code.message
        self.status = status if status is not None else code.status
        super().__init__(self.message)

    def __reduce__(self):
        # Exception pickles self.args (the message alone); keep every field.
        return (type(self), (self.code, self.detail, self.message, self.status, self.headers))

    def __repr__(self) -> str:
        return (
            f"OciError({self.code.code}, status={self.status}, "
            f"message={self.message!r}, detail={self.detail!r})"
        )

    def to_json(self) -> dict:
        """One entry of the spec's "errors" array."""
        entry: dict = {"code": self.code.code, "message": self.message}
        if self.detail is not None:
            entry["detail"] = self.detail
        return entry


def error_body(*errors: OciError) -> bytes:
    """The spec's error body: {"errors": [{"code", "message", "detail"?}, ...]}."""
    body = {"errors": [error.to_json() for error in errors]}
    # default=str: a detail holding a Digest or RepoName still renders instead of
    # turning a 4xx into a 500.
    return json.dumps(body, separators=(",", ":"), default=str).encode()
