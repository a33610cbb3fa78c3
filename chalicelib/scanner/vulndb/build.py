"""import_osv: OSV records (directories of JSON files, or the per-ecosystem all.zip
files osv.dev publishes) into one compact SQLite file.

The version names the content: the build time plus a digest of every (id, modified)
imported, so two imports of the same data differ only in their timestamp."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ScanFailed
from .osv import Advisory, InvalidRecord, parse_record
from .schema import DDL, INDEXES, SCHEMA_VERSION

_MAX_RECORD_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class DbInfo:
    path: Path
    version: str
    built_at: str
    advisories: int
    affected: int
    skipped: int                 # records that could not be read


def import_osv(sources: Iterable[str | os.PathLike], db_file: str | os.PathLike,
               now: datetime | None = None) -> DbInfo:
    """Build the DB at `db_file` (replaced if present) from the given sources."""
    db_file = Path(db_file)
    built_at = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    partial = db_file.with_name(db_file.name + ".partial")
    partial.unlink(missing_ok=True)
    connection = sqlite3.connect(partial)
    try:
        connection.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA page_size=4096;" + DDL)
        skipped = 0
        for raw in _records(sources):
            try:
                advisory = parse_record(json.loads(raw))
            except (ValueError, InvalidRecord):
                skipped += 1
                continue
            if advisory is not None:
                _store(connection, advisory)
        connection.executescript(INDEXES)
        content = hashlib.sha256()
        for osv_id, modified in connection.execute("SELECT osv_id, modified FROM advisories ORDER BY osv_id"):
            content.update(f"{osv_id}\0{modified}\n".encode())
        version = f"{built_at}-{content.hexdigest()[:12]}"
        advisories = connection.execute("SELECT count(*) FROM advisories").fetchone()[0]
        affected = connection.execute("SELECT count(*) FROM affected").fetchone()[0]
        connection.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("schema", str(SCHEMA_VERSION)), ("version", version), ("built_at", built_at),
            ("advisories", str(advisories)),
        ])
        connection.commit()
        connection.execute("ANALYZE")
        connection.execute("VACUUM")
    finally:
        connection.close()
    os.replace(partial, db_file)
    return DbInfo(db_file, version, built_at, advisories, affected, skipped)


def _records(sources: Iterable[str | os.PathLike]) -> Iterator[bytes]:
    for source in sources:
        path = Path(source)
        if path.is_dir():
            for file in sorted(path.rglob("*.json")):
                if file.stat().st_size <= _MAX_RECORD_BYTES:
                    yield file.read_bytes()
        elif path.is_file() and zipfile.is_zipfile(path):
            try:
                with zipfile.ZipFile(path) as archive:
                    for info in archive.infolist():
                        if info.filename.endswith(".json") and info.file_size <= _MAX_RECORD_BYTES:
                            yield archive.read(info)
            except (zipfile.BadZipFile, OSError) as error:
                raise ScanFailed(f"{path.name}: unreadable OSV archive ({error})") from None
        else:
            raise ScanFailed(f"{source}: not a directory of OSV records or an OSV zip file")


def _store(connection: sqlite3.Connection, advisory: Advisory) -> None:
    existing = connection.execute("SELECT id, modified FROM advisories WHERE osv_id = ?", (advisory.id,)).fetchone()
    if existing is not None:
        if existing[1] >= advisory.modified:
            return          # the same advisory from another source: keep the newer one
        connection.execute("DELETE FROM affected WHERE advisory = ?", (existing[0],))
        connection.execute("DELETE FROM advisories WHERE id = ?", (existing[0],))
    rating = advisory.rating
    cursor = connection.execute(
        "INSERT INTO advisories (osv_id, aliases, summary, modified, severity, score, vector) VALUES (?,?,?,?,?,?,?)",
        (advisory.id, json.dumps(advisory.aliases), advisory.summary, advisory.modified,
         rating.severity, rating.score, rating.vector),
    )
    connection.executemany(
        "INSERT INTO affected (advisory, ecosystem, name, ranges, severity, score, vector) VALUES (?,?,?,?,?,?,?)",
        [(cursor.lastrowid, row.ecosystem, row.name, row.ranges_json, row.rating.severity, row.rating.score,
          row.rating.vector) for row in advisory.affected],
    )
