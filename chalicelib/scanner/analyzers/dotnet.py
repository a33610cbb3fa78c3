""".NET dependencies: `*.deps.json`, written next to every published application."""

from __future__ import annotations

import json

from .base import FileFindings, FoundPackage


class DotnetAnalyzer:
    name = "dotnet"

    def matches(self, path: str) -> bool:
        return path.endswith(".deps.json")

    def max_bytes(self, limits) -> int:
        return limits.max_metadata_bytes

    def parse(self, path: str, data: bytes) -> FileFindings:
        try:
            document = json.loads(data)
        except ValueError:
            return FileFindings(warnings=(f"{path}: invalid JSON",))
        libraries = document.get("libraries") if isinstance(document, dict) else None
        packages = []
        for key, library in (libraries or {}).items() if isinstance(libraries, dict) else ():
            # "Newtonsoft.Json/13.0.1": {"type": "package"}; "project" entries are the app itself.
            name, _, version = key.partition("/")
            if isinstance(library, dict) and library.get("type") == "package" and name and version:
                packages.append(FoundPackage(type="nuget", name=name, version=version))
        return FileFindings(packages=tuple(packages))
