"""What an analyzer returns, and the shape of a metadata-file analyzer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ..limits import Limits


@dataclass(frozen=True)
class FoundPackage:
    type: str                        # purl type
    name: str
    version: str
    source_name: str | None = None
    source_version: str | None = None
    arch: str | None = None
    licenses: tuple[str, ...] = ()
    # Inside an archive: where, e.g. "BOOT-INF/lib/x.jar" (joined to the file's path with "!/").
    member: str | None = None


@dataclass(frozen=True)
class FileFindings:
    """What one file said: packages it declares, and files an OS package manager owns."""

    packages: tuple[FoundPackage, ...] = ()
    owned_paths: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


NOTHING = FileFindings()


class MetadataAnalyzer(Protocol):
    """Reads one kind of metadata file, chosen by path and read whole (bounded)."""

    name: str

    def matches(self, path: str) -> bool: ...

    def max_bytes(self, limits: Limits) -> int: ...

    def parse(self, path: str, data: bytes) -> FileFindings: ...


def text_of(data: bytes) -> str:
    # Metadata is UTF-8 by spec almost everywhere; a stray byte must not lose a package.
    return data.decode("utf-8", errors="replace")


def relative(paths: Iterable[str]) -> tuple[str, ...]:
    """Absolute paths as package managers list them, made relative like layer paths."""
    cleaned = (p.strip().strip("/") for p in paths)
    return tuple(p for p in cleaned if p and p != ".")
