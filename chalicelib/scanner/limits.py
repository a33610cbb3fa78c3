"""Bounds on the work and memory one scan may take. Every bound, when hit, ends the
scan with ScanFailed naming it: an image we cannot read fully is not reported clean."""

from __future__ import annotations

from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    # Uncompressed tar bytes over all layers of one image.
    max_image_bytes: int = 16 * GiB
    # Uncompressed / compressed, judged only once a layer has produced `ratio_floor_bytes`
    # (a small layer full of zeros legitimately compresses a thousandfold).
    max_ratio: int = 200
    ratio_floor_bytes: int = 64 * MiB
    # Tar entries over all layers, and the longest path we accept.
    max_entries: int = 1_000_000
    max_path_length: int = 4096
    # One package-metadata file (dpkg status, METADATA, package.json, ...).
    max_metadata_bytes: int = 16 * MiB
    # rpmdb.sqlite is read into memory to open it with sqlite3.deserialize.
    max_rpmdb_bytes: int = 96 * MiB
    # Files larger than this are not searched for secrets.
    max_secret_file_bytes: int = 1 * MiB
    # Executables larger than this are not searched for Go / Rust build info.
    max_binary_bytes: int = 1 * GiB
    # Nested archives (a jar in a war in an ear) and what one archive may hold.
    max_archive_depth: int = 3
    max_archive_entries: int = 100_000
    max_archive_member_bytes: int = 16 * MiB
    # Symlinks followed to find os-release.
    max_symlink_hops: int = 8
    # What one inventory may hold.
    max_packages: int = 200_000
    max_secrets: int = 1_000


DEFAULT_LIMITS = Limits()
