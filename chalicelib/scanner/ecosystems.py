"""OSV ecosystems: which one a package belongs to, how names are compared in it, and
which univers version class orders its versions.

Distribution advisories are per release, so a distro package's ecosystem comes from
os-release: Debian by major version ("Debian:12"), Alpine by major.minor
("Alpine:v3.19"), Ubuntu by release ("Ubuntu:22.04")."""

from __future__ import annotations

import re

from univers import versions as uv

from .inventory import OsRelease, Package

# purl type -> OSV ecosystem, for language packages.
LANGUAGE_ECOSYSTEMS = {
    "pypi": "PyPI", "npm": "npm", "golang": "Go", "maven": "Maven", "gem": "RubyGems",
    "composer": "Packagist", "cargo": "crates.io", "nuget": "NuGet",
}
_OSV_LANGUAGE_NAMES = frozenset(LANGUAGE_ECOSYSTEMS.values())

# ecosystem name (before any ":") -> version class for ECOSYSTEM ranges.
_VERSION_CLASSES: dict[str, type[uv.Version]] = {
    "Debian": uv.DebianVersion, "Ubuntu": uv.DebianVersion,
    "Alpine": uv.AlpineLinuxVersion, "Wolfi": uv.AlpineLinuxVersion, "Chainguard": uv.AlpineLinuxVersion,
    "Rocky Linux": uv.RpmVersion, "AlmaLinux": uv.RpmVersion, "Red Hat": uv.RpmVersion,
    "openSUSE": uv.RpmVersion, "SUSE": uv.RpmVersion, "Mageia": uv.RpmVersion, "Photon OS": uv.RpmVersion,
    "PyPI": uv.PypiVersion, "npm": uv.SemverVersion, "Go": uv.GolangVersion, "Maven": uv.MavenVersion,
    "RubyGems": uv.RubygemsVersion, "Packagist": uv.ComposerVersion, "crates.io": uv.SemverVersion,
    "NuGet": uv.NugetVersion,
}
# Distributions whose advisories we can tell apart by release, and how (os-release ID
# -> ecosystem for a VERSION_ID).
_DISTROS = {
    "debian": lambda v: f"Debian:{v.split('.')[0]}" if v else None,
    "ubuntu": lambda v: f"Ubuntu:{v}" if v else None,
    "alpine": lambda v: f"Alpine:v{'.'.join(v.split('.')[:2])}" if v else None,
    "wolfi": lambda v: "Wolfi",
    "chainguard": lambda v: "Chainguard",
    "rocky": lambda v: f"Rocky Linux:{v.split('.')[0]}" if v else None,
    "almalinux": lambda v: f"AlmaLinux:{v.split('.')[0]}" if v else None,
    "rhel": lambda v: f"Red Hat:{v.split('.')[0]}" if v else None,
    "opensuse-leap": lambda v: f"openSUSE:Leap {v}" if v else None,
    "mageia": lambda v: f"Mageia:{v}" if v else None,
    "photon": lambda v: f"Photon OS:{v}" if v else None,
}
_PEP503_RE = re.compile(r"[-_.]+")


def distro_ecosystem(os_release: OsRelease | None) -> str | None:
    if os_release is None or os_release.id not in _DISTROS:
        return None
    return _DISTROS[os_release.id](os_release.version_id)


# The package format each distribution's advisories are about.
_DISTRO_PACKAGE_TYPES = {"debian": "deb", "ubuntu": "deb", "alpine": "apk", "wolfi": "apk", "chainguard": "apk"}


def package_ecosystem(package: Package, os_release: OsRelease | None) -> str | None:
    if package.category == "os":
        # A stray apk database in a Debian image is not described by Debian's advisories.
        if os_release is None or _DISTRO_PACKAGE_TYPES.get(os_release.id, "rpm") != package.type:
            return None
        return distro_ecosystem(os_release)
    return LANGUAGE_ECOSYSTEMS.get(package.type)


def normalize_ecosystem(osv_ecosystem: str) -> str | None:
    """The ecosystem as advisories are stored: "Ubuntu:22.04:LTS" -> "Ubuntu:22.04",
    "Red Hat:enterprise_linux:9::appstream" -> "Red Hat:9"; None for what can never
    match an image we scan (Ubuntu Pro streams, unknown ecosystems)."""
    parts = osv_ecosystem.split(":")
    base = parts[0]
    if base in _OSV_LANGUAGE_NAMES:
        return base
    if base == "Ubuntu":
        return None if "Pro" in parts or len(parts) < 2 else f"Ubuntu:{parts[1]}"
    if base == "Red Hat":
        release = parts[2] if len(parts) > 2 and parts[1] == "enterprise_linux" else ""
        major = release.split(".")[0]
        return f"Red Hat:{major}" if major.isdigit() else None
    if base in _VERSION_CLASSES:
        return osv_ecosystem
    return None


def normalize_name(ecosystem: str, name: str) -> str:
    """Names as the ecosystem compares them."""
    base = ecosystem.split(":")[0]
    if base == "PyPI":
        return _PEP503_RE.sub("-", name).lower()      # PEP 503
    if base in ("NuGet", "Packagist", "crates.io"):
        return name.lower()
    return name


def version_class(ecosystem: str, range_type: str = "ECOSYSTEM") -> type[uv.Version]:
    if range_type == "SEMVER":
        return uv.SemverVersion
    return _VERSION_CLASSES.get(ecosystem.split(":")[0], uv.SemverVersion)
