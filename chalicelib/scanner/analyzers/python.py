"""Python distributions: `*.dist-info/METADATA` (wheels, pip) and `*.egg-info/PKG-INFO`
or a bare `*.egg-info` file (setuptools, distutils; Debian ships those)."""

from __future__ import annotations

from .base import NOTHING, FileFindings, FoundPackage, text_of
from .rfc822 import headers


class PythonAnalyzer:
    name = "python"

    def matches(self, path: str) -> bool:
        parent, _, name = path.rpartition("/")
        return (
            (name == "METADATA" and parent.endswith(".dist-info"))
            or (name == "PKG-INFO" and parent.endswith(".egg-info"))
            or name.endswith(".egg-info")
        )

    def max_bytes(self, limits) -> int:
        return limits.max_metadata_bytes

    def parse(self, path: str, data: bytes) -> FileFindings:
        fields = headers(text_of(data))
        name, version = _first(fields, "Name"), _first(fields, "Version")
        if not name or not version:
            return NOTHING
        license_ = _first(fields, "License-Expression") or _first(fields, "License")
        # Old METADATA puts the whole license text in License; keep only short names.
        licenses = (license_,) if license_ and len(license_) <= 100 and "\n" not in license_ else ()
        return FileFindings(packages=(FoundPackage(type="pypi", name=name, version=version, licenses=licenses),))


def _first(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0].strip() if values and values[0].strip() not in ("", "UNKNOWN") else None
