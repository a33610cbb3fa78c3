"""os-release(5): which distribution, and which release of it."""

from __future__ import annotations

import shlex

from ..inventory import OsRelease
from .base import text_of

PATHS = ("etc/os-release", "usr/lib/os-release")
_MAX_BYTES = 64 * 1024


def is_candidate(path: str) -> bool:
    """os-release itself, or a file it may be a symlink to (same directories)."""
    directory, _, name = path.rpartition("/")
    return directory in ("etc", "usr/lib") and name.startswith("os-release")


def max_bytes() -> int:
    return _MAX_BYTES


def parse_os_release(data: bytes) -> OsRelease | None:
    values: dict[str, str] = {}
    for line in text_of(data).splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[key.strip()] = parts[0] if parts else ""
    if not values.get("ID"):
        return None
    return OsRelease(
        id=values["ID"].lower(),
        version_id=values.get("VERSION_ID", ""),
        pretty_name=values.get("PRETTY_NAME", ""),
        id_like=tuple(values.get("ID_LIKE", "").split()),
    )
