"""VulnDB: the SQLite file opened read-only; one indexed query per package."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Self

from .schema import SCHEMA_VERSION
from .severity import Rating


class VulnDBError(Exception):
    """The vulnerability DB is missing, damaged or of an unknown schema."""


@dataclass(frozen=True)
class Candidate:
    """An advisory that names the package; versions decide whether it applies."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    rating: Rating            # the package's own rating when it has one, else the advisory's
    affected: dict            # {"ranges": [...], "versions": [...]}


class VulnDB:
    def __init__(self, connection: sqlite3.Connection, path: Path):
        self._connection = connection
        self.path = path
        meta = dict(connection.execute("SELECT key, value FROM meta"))
        if meta.get("schema") != str(SCHEMA_VERSION):
            raise VulnDBError(f"{path.name}: schema {meta.get('schema')!r}, expected {SCHEMA_VERSION}")
        self.version: str = meta["version"]
        self.built_at: str = meta.get("built_at", "")
        self.advisories = int(meta.get("advisories", 0))
        self._lookup = lru_cache(maxsize=4096)(self._query)

    @classmethod
    def open(cls, path: str | os.PathLike) -> VulnDB:
        path = Path(path)
        if not path.is_file():
            raise VulnDBError(f"{path}: no such vulnerability DB")
        # immutable=1: no locking, no journal checks; the file never changes once built.
        connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        try:
            return cls(connection, path)
        except (sqlite3.Error, KeyError) as error:
            connection.close()
            raise VulnDBError(f"{path.name}: not a vulnerability DB ({error})") from None

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def candidates(self, ecosystem: str, name: str) -> tuple[Candidate, ...]:
        """Advisories naming the package (names already normalised for the ecosystem)."""
        return self._lookup(ecosystem, name)

    def _query(self, ecosystem: str, name: str) -> tuple[Candidate, ...]:
        rows = self._connection.execute(
            "SELECT a.osv_id, a.aliases, a.summary, a.severity, a.score, a.vector, "
            "f.ranges, f.severity, f.score, f.vector "
            "FROM affected f JOIN advisories a ON a.id = f.advisory "
            "WHERE f.ecosystem = ? AND f.name = ? ORDER BY a.osv_id",
            (ecosystem, name),
        )
        found = []
        for osv_id, aliases, summary, severity, score, vector, ranges, own_severity, own_score, own_vector in rows:
            rating = (Rating(own_severity, own_score, own_vector) if own_severity != "UNKNOWN"
                      else Rating(severity, score, vector))
            found.append(Candidate(osv_id, tuple(json.loads(aliases)), summary, rating, json.loads(ranges)))
        return tuple(found)
