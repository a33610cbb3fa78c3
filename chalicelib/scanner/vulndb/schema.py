"""The SQLite layout of the vulnerability DB, in one place (writer and reader use it)."""

from __future__ import annotations

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE advisories (
    id INTEGER PRIMARY KEY,
    osv_id TEXT NOT NULL UNIQUE,
    aliases TEXT NOT NULL,          -- JSON list, CVE ids first
    summary TEXT NOT NULL,
    modified TEXT NOT NULL,
    severity TEXT NOT NULL,
    score REAL,
    vector TEXT
);
CREATE TABLE affected (
    advisory INTEGER NOT NULL REFERENCES advisories (id),
    ecosystem TEXT NOT NULL,
    name TEXT NOT NULL,
    ranges TEXT NOT NULL,           -- {"ranges": [...], "versions": [...]}
    severity TEXT NOT NULL,         -- the package's own rating, UNKNOWN when none
    score REAL,
    vector TEXT
);
"""
# Built after the bulk insert: faster than maintaining it row by row.
INDEXES = "CREATE INDEX affected_by_package ON affected (ecosystem, name);"
