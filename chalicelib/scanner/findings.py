"""A vulnerability found in a package: the value match() returns and reports keep."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .inventory import OS_PACKAGE_TYPES

CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")


def cve_first(name: str) -> tuple[bool, str]:
    """Sort key of advisory ids: CVE ids first."""
    return (not CVE_ID.fullmatch(name), name)


@dataclass(frozen=True)
class Finding:
    id: str                          # the CVE when the advisory has exactly one, else the OSV id
    aliases: tuple[str, ...]         # every other id of the same vulnerability
    summary: str
    severity: str                    # CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN
    score: float | None
    vector: str | None               # CVSS vector the score comes from
    ecosystem: str                   # OSV ecosystem matched ("Debian:12", "PyPI")
    package_type: str                # purl type
    package_name: str
    installed_version: str
    fixed_versions: tuple[str, ...]
    purl: str
    path: str
    layer: str                       # digest of the layer that introduced the package
    source_name: str | None = None   # the distro source package the advisory names

    @property
    def fixable(self) -> bool:
        return bool(self.fixed_versions)

    @property
    def category(self) -> str:
        return "os" if self.package_type in OS_PACKAGE_TYPES else "language"
