"""The entries of one layer's tar, read once in stream mode, with names made safe.

tarfile keeps every TarInfo it has read in `members`; we empty it after each entry so
memory stays flat however many entries a layer has."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import ScanFailed
from ..limits import Limits

# Extended headers (PAX records, GNU long names) are read whole by tarfile; a real one
# is a few hundred bytes.
_MAX_EXTENDED_HEADER = 1024 * 1024
_EXTENDED_HEADER_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                          tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
# tarfile's stream buffer: each small read copies what is left of it, so keep it small.
_TAR_BUFSIZE = 32 * 1024

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


@dataclass(frozen=True)
class Entry:
    path: str            # relative, normalised: "usr/lib/os-release"
    kind: str            # "file", "dir", "symlink", "hardlink", "other"
    size: int
    linkname: str = ""
    mode: int = 0


class _CheckedTarInfo(tarfile.TarInfo):
    """Refuses what tarfile would otherwise accept silently or read without bound."""

    @classmethod
    def fromtarfile(cls, tar: tarfile.TarFile) -> tarfile.TarInfo:
        try:
            return super().fromtarfile(tar)
        except tarfile.TruncatedHeaderError:
            raise tarfile.ReadError("truncated tar header") from None
        except tarfile.InvalidHeaderError as error:
            raise tarfile.ReadError(f"invalid tar header ({error})") from None

    def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _EXTENDED_HEADER_TYPES and self.size > _MAX_EXTENDED_HEADER:
            raise tarfile.ReadError(f"extended tar header of {self.size} bytes")
        return super()._proc_member(tar)


def clean_path(name: str, limits: Limits) -> str:
    """The path an entry lands at, relative to the root; "" for the root itself.

    Layers come from anyone who can push: a name that climbs out of the root, holds a
    NUL or is absurdly long fails the scan instead of being guessed at."""
    if "\x00" in name:
        raise ScanFailed(f"tar entry name contains a NUL byte: {name[:80]!r}")
    if len(name) > limits.max_path_length:
        raise ScanFailed(f"tar entry name of {len(name)} characters (limit {limits.max_path_length})")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ScanFailed(f"tar entry name escapes the root: {name[:200]!r}")
    return "/".join(parts)


def _kind(info: tarfile.TarInfo) -> str:
    if info.isreg():
        return "file"
    if info.isdir():
        return "dir"
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    return "other"


def read_entries(stream: BinaryIO, label: str, limits: Limits) -> Iterator[tuple[Entry, BinaryIO | None]]:
    """(entry, content reader) for each entry; the reader (regular files only) is valid
    until the next entry is asked for."""
    try:
        tar = tarfile.open(fileobj=stream, mode="r|", bufsize=_TAR_BUFSIZE, tarinfo=_CheckedTarInfo)  # noqa: SIM115
    except tarfile.ReadError as error:
        raise ScanFailed(f"layer {label}: not a readable tar ({error})") from None
    with tar:
        while True:
            try:
                info = tar.next()
            except tarfile.ReadError as error:
                raise ScanFailed(f"layer {label}: corrupt tar ({error})") from None
            except (UnicodeError, ValueError) as error:
                raise ScanFailed(f"layer {label}: corrupt tar header ({error.__class__.__name__})") from None
            if info is None:
                return
            tar.members.clear()
            path = clean_path(info.name, limits)
            kind = _kind(info)
            entry = Entry(path, kind, info.size if kind == "file" else 0, info.linkname, info.mode)
            # Reading the content may raise tarfile.ReadError in the caller, which
            # maps it (a generator cannot catch what its consumer raises).
            yield entry, tar.extractfile(info) if kind == "file" else None
