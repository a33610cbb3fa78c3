"""PHP packages: `vendor/composer/installed.json` (Composer 1: a list; Composer 2: an
object with "packages")."""

from __future__ import annotations

import json

from .base import FileFindings, FoundPackage


class PhpAnalyzer:
    name = "php"

    def matches(self, path: str) -> bool:
        return path == "vendor/composer/installed.json" or path.endswith("/vendor/composer/installed.json")

    def max_bytes(self, limits) -> int:
        return limits.max_metadata_bytes

    def parse(self, path: str, data: bytes) -> FileFindings:
        try:
            document = json.loads(data)
        except ValueError:
            return FileFindings(warnings=(f"{path}: invalid JSON",))
        entries = document.get("packages") if isinstance(document, dict) else document
        packages = []
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, dict):
                continue
            name, version = entry.get("name"), entry.get("version")
            if isinstance(name, str) and isinstance(version, str) and name and version:
                license_ = entry.get("license")
                packages.append(FoundPackage(
                    type="composer",
                    name=name,
                    # Tags are often "v1.2.3"; advisories say "1.2.3".
                    version=version.removeprefix("v"),
                    licenses=tuple(x for x in license_ if isinstance(x, str)) if isinstance(license_, list) else (),
                ))
        return FileFindings(packages=tuple(packages))
