"""Alpine (and Wolfi) packages: lib/apk/db/installed, one stanza per package with
one-letter keys (P name, V version, A arch, o origin, L license, F dir, R file)."""

from __future__ import annotations

from .base import FileFindings, FoundPackage, text_of

INSTALLED = "lib/apk/db/installed"


class ApkAnalyzer:
    name = "apk"

    def matches(self, path: str) -> bool:
        return path == INSTALLED

    def max_bytes(self, limits) -> int:
        return limits.max_metadata_bytes

    def parse(self, path: str, data: bytes) -> FileFindings:
        packages: list[FoundPackage] = []
        owned: list[str] = []
        for stanza in text_of(data).split("\n\n"):
            fields: dict[str, str] = {}
            directory = ""
            for line in stanza.splitlines():
                key, sep, value = line.partition(":")
                if not sep or len(key) != 1:
                    continue
                if key == "F":
                    directory = value.strip("/")
                    owned.append(directory)
                elif key == "R":
                    owned.append(f"{directory}/{value}" if directory else value)
                else:
                    fields.setdefault(key, value)
            if fields.get("P") and fields.get("V"):
                packages.append(FoundPackage(
                    type="apk",
                    name=fields["P"],
                    version=fields["V"],
                    source_name=fields.get("o") or fields["P"],
                    source_version=fields["V"],
                    arch=fields.get("A") or None,
                    licenses=(fields["L"],) if fields.get("L") else (),
                ))
        return FileFindings(packages=tuple(packages), owned_paths=tuple(owned))
