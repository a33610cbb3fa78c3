"""Byte ranges of chunked uploads (distribution-spec, "Pushing a blob in chunks")."""

from __future__ import annotations

import re

from .errors import Code, OciError

# Offsets are int64; bounding the digits also keeps int() away from huge strings.
_POSITION = r"[0-9]{1,19}"
_MAX_POSITION = 2**63 - 1
# spec: "Content-Range: <range>" ... "It MUST match the following regular expression:
#   ^[0-9]+-[0-9]+$"
# Clients also send the RFC 9110 form, "bytes <first>-<last>/<complete-length>",
# or "bytes=<first>-<last>", so the unit and the length are tolerated.
_CONTENT_RANGE_RE = re.compile(
    rf"(?:(?i:bytes)[ =])?(?P<start>{_POSITION})-(?P<end>{_POSITION})"
    rf"(?:/(?:(?P<total>{_POSITION})|\*))?"
)


def parse_content_range(value: str) -> tuple[int, int]:
    """(start, end) of a PATCH chunk, both inclusive."""
    match = _CONTENT_RANGE_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise OciError(
            Code.RANGE_INVALID,
            detail={"Content-Range": str(value)[:256]},
            message="Content-Range must be <start>-<end>",
        )
    start, end = int(match["start"]), int(match["end"])
    total = int(match["total"]) if match["total"] else None
    if end < start or end > _MAX_POSITION or (total is not None and end >= total):
        raise OciError(
            Code.RANGE_INVALID,
            detail={"Content-Range": value},
            message=f"Content-Range {value!r} is not a valid byte range",
        )
    return start, end


def format_range(size: int) -> str:
    """The Range header telling a client how much of an upload the registry holds.

    Distribution answers "0-0" for an empty upload too; clients expect that.
    """
    if size < 0:
        raise ValueError(f"negative upload size {size}")
    return f"0-{max(size - 1, 0)}"
