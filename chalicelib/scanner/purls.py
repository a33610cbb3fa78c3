"""Package URLs (purl-spec) for inventory packages."""

from __future__ import annotations

from packageurl import PackageURL

from .analyzers.base import FoundPackage
from .inventory import OsRelease


def purl_for(package: FoundPackage, os_release: OsRelease | None) -> str:
    qualifiers: dict[str, str] = {}
    namespace: str | None = None
    name, version = package.name, package.version
    if package.type in ("deb", "apk", "rpm"):
        namespace = os_release.id if os_release else None
        if package.arch:
            qualifiers["arch"] = package.arch
        if os_release:
            qualifiers["distro"] = f"{os_release.id}-{os_release.version_id}" if os_release.version_id else os_release.id
        if package.type == "rpm" and ":" in version:
            epoch, _, version = version.partition(":")
            qualifiers["epoch"] = epoch
    elif package.type in ("npm", "golang", "composer") and "/" in name:
        namespace, _, name = name.rpartition("/")
    elif package.type == "maven" and ":" in name:
        namespace, _, name = name.partition(":")
    elif package.type == "pypi":
        name = name.lower().replace("_", "-")
    if package.type == "golang":
        version = "v" + version   # Go module versions carry the "v" that advisories drop
    return PackageURL(type=package.type, namespace=namespace, name=name, version=version,
                      qualifiers=qualifiers or None).to_string()
