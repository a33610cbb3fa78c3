"""Debian packages: var/lib/dpkg/status, distroless status.d/<name> files, and the
info/<name>.list files that say which paths each package installed."""

from __future__ import annotations

import re

from .base import FileFindings, FoundPackage, relative, text_of
from .rfc822 import stanzas

STATUS = "var/lib/dpkg/status"
STATUS_DIR = "var/lib/dpkg/status.d/"
INFO_DIR = "var/lib/dpkg/info/"

# "Source: name" or "Source: name (version)" when the source version differs (binNMU).
_SOURCE_RE = re.compile(r"(?P<name>[^\s(]+)(?:\s*\((?P<version>[^)]+)\))?")


class DpkgAnalyzer:
    name = "dpkg"

    def matches(self, path: str) -> bool:
        if path == STATUS:
            return True
        if path.startswith(STATUS_DIR):
            # distroless also ships <name>.md5sums next to each stanza file.
            return "/" not in path[len(STATUS_DIR):] and not path.endswith(".md5sums")
        return path.startswith(INFO_DIR) and path.endswith(".list") and "/" not in path[len(INFO_DIR):]

    def max_bytes(self, limits) -> int:
        return limits.max_metadata_bytes

    def parse(self, path: str, data: bytes) -> FileFindings:
        text = text_of(data)
        if path.endswith(".list") and path.startswith(INFO_DIR):
            return FileFindings(owned_paths=relative(text.splitlines()))
        return FileFindings(packages=tuple(_installed(text)))


def _installed(text: str):
    for stanza in stanzas(text):
        name, version = stanza.get("Package"), stanza.get("Version")
        if not name or not version:
            continue
        # status.d stanzas have no Status field; in status, removed packages whose
        # config files remain say "deinstall ok config-files".
        status = stanza.get("Status", "install ok installed").split()
        if not status or status[-1] != "installed":
            continue
        source_name = source_version = None
        match = _SOURCE_RE.match(stanza.get("Source", ""))
        if match:
            source_name, source_version = match["name"], match["version"]
        yield FoundPackage(
            type="deb",
            name=name,
            version=version,
            source_name=source_name or name,
            source_version=source_version or version,
            arch=stanza.get("Architecture") or None,
        )
