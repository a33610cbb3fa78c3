"""npm packages: `node_modules/<name>/package.json` and `node_modules/@scope/<name>/package.json`.

Only manifests directly inside node_modules count: a package's own test fixtures and
examples also carry package.json files, but nobody installed them."""

from __future__ import annotations

import json

from .base import NOTHING, FileFindings, FoundPackage


class NodeAnalyzer:
    name = "node"

    def matches(self, path: str) -> bool:
        if not path.endswith("/package.json"):
            return False
        parts = path.split("/")
        if len(parts) >= 3 and parts[-3] == "node_modules":
            return not parts[-2].startswith("@")
        return len(parts) >= 4 and parts[-4] == "node_modules" and parts[-3].startswith("@")

    def max_bytes(self, limits) -> int:
        return limits.max_metadata_bytes

    def parse(self, path: str, data: bytes) -> FileFindings:
        try:
            manifest = json.loads(data)
        except ValueError:
            return FileFindings(warnings=(f"{path}: invalid JSON",))
        if not isinstance(manifest, dict):
            return NOTHING
        name, version = manifest.get("name"), manifest.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
            return NOTHING
        return FileFindings(packages=(FoundPackage(
            type="npm", name=name, version=version, licenses=_licenses(manifest.get("license")),
        ),))


def _licenses(value) -> tuple[str, ...]:
    # "MIT", or the deprecated {"type": "MIT"}.
    if isinstance(value, dict):
        value = value.get("type")
    return (value,) if isinstance(value, str) and value else ()
