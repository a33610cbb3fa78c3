"""RPM packages from rpmdb.sqlite (Fedora 33+, RHEL 9, Rocky, Alma, openSUSE): the
Packages table holds one header blob per installed package.

The older Berkeley DB `Packages` and the NDB `Packages.db` formats are not read: no
maintained PyPI library parses them without the native libdb. Images that only have
those get a warning in their inventory instead of a silent empty package list."""

from __future__ import annotations

import sqlite3

from .base import FileFindings, FoundPackage
from .rpmheader import (
    ARCH,
    BASENAMES,
    DIRINDEXES,
    DIRNAMES,
    EPOCH,
    LICENSE,
    NAME,
    RELEASE,
    SOURCERPM,
    VERSION,
    HeaderError,
    parse_header,
)

SQLITE_DATABASES = ("var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite")
UNSUPPORTED_DATABASES = {
    "var/lib/rpm/Packages": "rpm database in Berkeley DB format is not read; rpm packages are not listed",
    "usr/lib/sysimage/rpm/Packages.db": "rpm database in NDB format is not read; rpm packages are not listed",
}
# Bytes 18 and 19 of an SQLite file: 2 = WAL mode, which an in-memory copy cannot use.
_WAL_VERSION_OFFSET = 18


class RpmAnalyzer:
    name = "rpm"

    def matches(self, path: str) -> bool:
        return path in SQLITE_DATABASES

    def max_bytes(self, limits) -> int:
        return limits.max_rpmdb_bytes

    def parse(self, path: str, data: bytes) -> FileFindings:
        if len(data) < 100 or not data.startswith(b"SQLite format 3\0"):
            return FileFindings(warnings=(f"{path}: not an SQLite database",))
        image = bytearray(data)
        image[_WAL_VERSION_OFFSET:_WAL_VERSION_OFFSET + 2] = b"\x01\x01"
        connection = sqlite3.connect(":memory:")
        try:
            connection.deserialize(bytes(image))
            del image
            rows = connection.execute("SELECT blob FROM Packages")
            return _findings(path, (row[0] for row in rows))
        except sqlite3.Error as error:
            return FileFindings(warnings=(f"{path}: unreadable rpm database ({error})",))
        finally:
            connection.close()


def _findings(path: str, blobs) -> FileFindings:
    packages: list[FoundPackage] = []
    owned: list[str] = []
    bad = 0
    for blob in blobs:
        try:
            header = parse_header(bytes(blob))
        except HeaderError:
            bad += 1
            continue
        name, version = header.get(NAME), header.get(VERSION)
        # gpg-pubkey entries are imported signing keys, not software.
        if not isinstance(name, str) or not isinstance(version, str) or name == "gpg-pubkey":
            continue
        release = header.get(RELEASE)
        epoch = header.get(EPOCH)
        full = f"{version}-{release}" if isinstance(release, str) else version
        if isinstance(epoch, int) and epoch:
            full = f"{epoch}:{full}"
        source_name, source_version = _source(header.get(SOURCERPM), epoch)
        license_ = header.get(LICENSE)
        packages.append(FoundPackage(
            type="rpm",
            name=name,
            version=full,
            source_name=source_name or name,
            source_version=source_version or full,
            arch=header.get(ARCH) if isinstance(header.get(ARCH), str) else None,
            licenses=(license_,) if isinstance(license_, str) and license_ else (),
        ))
        owned.extend(_files(header))
    warnings = (f"{path}: {bad} unreadable package headers",) if bad else ()
    return FileFindings(packages=tuple(packages), owned_paths=tuple(owned), warnings=warnings)


def _source(sourcerpm, epoch) -> tuple[str | None, str | None]:
    """("openssl", "1:3.0.7-25.el9") from "openssl-3.0.7-25.el9.src.rpm"."""
    if not isinstance(sourcerpm, str):
        return None, None
    stem = sourcerpm.removesuffix(".rpm").removesuffix(".src").removesuffix(".nosrc")
    name, _, rest = stem.rpartition("-")
    name, _, version = name.rpartition("-")
    if not name or not version or not rest:
        return None, None
    full = f"{version}-{rest}"
    return name, f"{epoch}:{full}" if isinstance(epoch, int) and epoch else full


def _files(header) -> list[str]:
    basenames, dirnames, indexes = header.get(BASENAMES), header.get(DIRNAMES), header.get(DIRINDEXES)
    if not (isinstance(basenames, tuple) and isinstance(dirnames, tuple) and isinstance(indexes, tuple)):
        return []
    files = []
    for base, index in zip(basenames, indexes):
        if 0 <= index < len(dirnames):
            files.append((dirnames[index] + base).strip("/"))
    return files
