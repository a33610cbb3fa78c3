"""Java archives (jar, war, ear and the like): Maven coordinates from
`META-INF/maven/<group>/<artifact>/pom.properties`, else from `META-INF/MANIFEST.MF`,
else from the file name; archives nested inside (WEB-INF/lib, BOOT-INF/lib) too, to a
bounded depth. Read as a stream (see zipstream.py)."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..limits import Limits
from .base import FileFindings, FoundPackage, text_of
from .rfc822 import headers
from .zipstream import ZipBomb, ZipBudget, ZipError, walk_zip

ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".par", ".hpi", ".jpi")
_FILE_NAME_RE = re.compile(r"(?P<artifact>[A-Za-z0-9_.\-]+?)-(?P<version>\d[\w.\-]*)\.[a-z]+")


class JavaAnalyzer:
    name = "java"

    def matches(self, path: str) -> bool:
        return path.lower().endswith(ARCHIVE_SUFFIXES)

    def analyze(self, path: str, read: Callable[[int], bytes], size: int, limits: Limits) -> FileFindings:
        """Packages of the archive at `path`; ZipBomb propagates, other damage is a warning."""
        budget = ZipBudget(max(limits.ratio_floor_bytes, limits.max_ratio * size))
        packages: list[FoundPackage] = []
        warnings: list[str] = []
        _scan(read, path.rpartition("/")[2], None, 0, budget, limits, packages, warnings, path)
        return FileFindings(packages=tuple(packages), warnings=tuple(warnings))


def _scan(read, file_name: str, member: str | None, depth: int, budget: ZipBudget, limits: Limits,
          packages: list[FoundPackage], warnings: list[str], path: str) -> None:
    poms: list[dict[str, str]] = []
    manifest: dict[str, list[str]] = {}
    where = f"{path}!/{member}" if member else path
    try:
        for entry, content in walk_zip(read, budget, limits.max_archive_entries):
            name = entry.name
            if name.startswith("META-INF/maven/") and name.endswith("/pom.properties"):
                data = content.read_all(limits.max_archive_member_bytes)
                if data is not None:
                    poms.append(_properties(text_of(data)))
            elif name == "META-INF/MANIFEST.MF":
                data = content.read_all(limits.max_archive_member_bytes)
                manifest = headers(text_of(data)) if data is not None else {}
            elif name.lower().endswith(ARCHIVE_SUFFIXES) and depth + 1 < limits.max_archive_depth:
                nested = f"{member}!/{name}" if member else name
                _scan(content.read, name.rpartition("/")[2], nested, depth + 1, budget, limits,
                      packages, warnings, path)
    except ZipBomb:
        raise
    except ZipError as error:
        warnings.append(f"{where}: unreadable archive ({error})")
    packages.extend(_coordinates(poms, manifest, file_name, member))


def _properties(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _coordinates(poms, manifest, file_name, member) -> list[FoundPackage]:
    found = [
        FoundPackage(type="maven", name=f"{pom['groupId']}:{pom['artifactId']}", version=pom["version"], member=member)
        for pom in poms
        if pom.get("groupId") and pom.get("artifactId") and pom.get("version")
    ]
    if found:
        return found
    first = lambda key: (manifest.get(key) or [""])[0].split(";")[0].strip()
    artifact = first("Implementation-Title") or first("Bundle-SymbolicName")
    version = first("Implementation-Version") or first("Bundle-Version")
    group = first("Implementation-Vendor-Id")
    if not (artifact and version):
        match = _FILE_NAME_RE.fullmatch(file_name)
        if not match:
            return []
        artifact, version = match["artifact"], match["version"]
    name = f"{group}:{artifact}" if group else artifact
    return [FoundPackage(type="maven", name=name, version=version, member=member)]
