"""Rust crates from `Cargo.lock` files (images that ship their sources or build in place)."""

from __future__ import annotations

import tomllib

from .base import FileFindings, FoundPackage, text_of


class CargoLockAnalyzer:
    name = "cargo"

    def matches(self, path: str) -> bool:
        return path == "Cargo.lock" or path.endswith("/Cargo.lock")

    def max_bytes(self, limits) -> int:
        return limits.max_metadata_bytes

    def parse(self, path: str, data: bytes) -> FileFindings:
        try:
            document = tomllib.loads(text_of(data))
        except tomllib.TOMLDecodeError:
            return FileFindings(warnings=(f"{path}: invalid TOML",))
        return FileFindings(packages=tuple(crates(document.get("package"))))


def crates(entries) -> list[FoundPackage]:
    """Crates from a list of {"name", "version"} tables (Cargo.lock) or objects (the
    cargo-auditable JSON); Cargo.lock also lists the project's own crates."""
    found = []
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict):
            name, version = entry.get("name"), entry.get("version")
            if isinstance(name, str) and isinstance(version, str) and name and version:
                found.append(FoundPackage(type="cargo", name=name, version=version))
    return found
