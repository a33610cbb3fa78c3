"""The DB in object storage:

    _vulndb/current.json                      {"version", "key", "sha256", "size", ...}
    _vulndb/<version>/vulndb.sqlite.gz        the SQLite file, gzip'ed

`publish` writes the file first and the pointer last, so a reader sees either the
old version or the complete new one. `load` reads the pointer (one small GET) and
downloads a version only once per cache directory (/tmp on Lambda), streaming it
through gzip and SHA-256 into a temporary file that is renamed into place."""

from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

from ...store.ports import ObjectStore
from .db import VulnDB, VulnDBError

PREFIX = "_vulndb/"
POINTER_KEY = PREFIX + "current.json"
_FILE_NAME = "vulndb.sqlite.gz"
_VERSION_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,127}")
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Pointer:
    version: str
    key: str
    sha256: str               # of the uncompressed SQLite file
    size: int
    built_at: str
    advisories: int
    schema: int = 1


def publish(db_file: str | os.PathLike, objects: ObjectStore) -> Pointer:
    db_file = Path(db_file)
    with VulnDB.open(db_file) as db:
        version, built_at, advisories = db.version, db.built_at, db.advisories
    _check_version(version)
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    digest = hashlib.sha256()
    parts: list[bytes] = []
    with db_file.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
            parts.append(compressor.compress(chunk))
    parts.append(compressor.flush())
    key = f"{PREFIX}{version}/{_FILE_NAME}"
    objects.put(key, b"".join(parts))
    pointer = Pointer(version, key, digest.hexdigest(), db_file.stat().st_size, built_at, advisories)
    objects.put(POINTER_KEY, json.dumps(asdict(pointer), sort_keys=True).encode())
    return pointer


def current_pointer(objects: ObjectStore) -> Pointer | None:
    raw = objects.get(POINTER_KEY)
    if raw is None:
        return None
    try:
        document = json.loads(raw)
        pointer = Pointer(**{k: document[k] for k in ("version", "key", "sha256", "size", "built_at", "advisories")},
                          schema=int(document.get("schema", 1)))
    except (ValueError, KeyError, TypeError) as error:
        raise VulnDBError(f"{POINTER_KEY}: unreadable ({error.__class__.__name__})") from None
    _check_version(pointer.version)
    return pointer


def load(objects: ObjectStore, cache_dir: str | os.PathLike) -> VulnDB:
    """The current DB, downloaded into `cache_dir` unless it is already there."""
    pointer = current_pointer(objects)
    if pointer is None:
        raise VulnDBError("no vulnerability DB has been published")
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"vulndb-{pointer.version}.sqlite"
    if not path.is_file():
        _download(objects, pointer, path)
        _remove_older(cache_dir, keep=path)
    return VulnDB.open(path)


def _download(objects: ObjectStore, pointer: Pointer, path: Path) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    inflate = zlib.decompressobj(31)
    digest = hashlib.sha256()
    size = 0
    try:
        with partial.open("wb") as file:
            for chunk in objects.read_chunks(pointer.key, _CHUNK):
                data = inflate.decompress(chunk)
                digest.update(data)
                size += len(data)
                if size > pointer.size:
                    raise VulnDBError(f"{pointer.key}: larger than its pointer says")
                file.write(data)
        if not inflate.eof or digest.hexdigest() != pointer.sha256 or size != pointer.size:
            raise VulnDBError(f"{pointer.key}: content does not match {POINTER_KEY}")
        os.replace(partial, path)
    except zlib.error:
        raise VulnDBError(f"{pointer.key}: corrupt gzip data") from None
    finally:
        partial.unlink(missing_ok=True)


def _remove_older(cache_dir: Path, keep: Path) -> None:
    for old in cache_dir.glob("vulndb-*.sqlite"):
        if old != keep:
            old.unlink(missing_ok=True)


def _check_version(version: str) -> None:
    if not isinstance(version, str) or not _VERSION_RE.fullmatch(version):
        raise VulnDBError(f"invalid vulnerability DB version {version!r}")


