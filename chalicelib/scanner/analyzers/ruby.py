"""Ruby gems: `specifications/*.gemspec` (and `specifications/default/`), the Ruby files
RubyGems writes for installed gems. They are read as text, never evaluated."""

from __future__ import annotations

import re

from .base import NOTHING, FileFindings, FoundPackage, text_of

# s.name = "rake".freeze / s.version = "13.0.6" / s.licenses = ["MIT".freeze]
_NAME_RE = re.compile(r"""^\s*\w+\.name\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_VERSION_RE = re.compile(r"""^\s*\w+\.version\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_LICENSES_RE = re.compile(r"""^\s*\w+\.licenses?\s*=\s*\[?([^\n\]]*)""", re.MULTILINE)
_QUOTED_RE = re.compile(r"""["']([^"']+)["']""")


class RubyAnalyzer:
    name = "ruby"

    def matches(self, path: str) -> bool:
        if not path.endswith(".gemspec"):
            return False
        parts = path.split("/")
        return len(parts) >= 2 and (
            parts[-2] == "specifications" or (parts[-2] == "default" and len(parts) >= 3 and parts[-3] == "specifications")
        )

    def max_bytes(self, limits) -> int:
        return limits.max_metadata_bytes

    def parse(self, path: str, data: bytes) -> FileFindings:
        text = text_of(data)
        name, version = _NAME_RE.search(text), _VERSION_RE.search(text)
        if not name or not version:
            return NOTHING
        licenses = _LICENSES_RE.search(text)
        return FileFindings(packages=(FoundPackage(
            type="gem", name=name[1], version=version[1],
            licenses=tuple(_QUOTED_RE.findall(licenses[1])) if licenses else (),
        ),))
