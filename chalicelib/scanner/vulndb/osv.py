"""One OSV record (ossf/osv-schema) as the rows the database stores."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..ecosystems import normalize_ecosystem, normalize_name
from ..findings import CVE_ID, cve_first
from .severity import Rating, rate


class InvalidRecord(ValueError):
    pass


@dataclass(frozen=True)
class AffectedRow:
    ecosystem: str             # normalised ("Debian:12", "PyPI")
    name: str                  # normalised for the ecosystem
    ranges_json: str           # {"ranges": [...], "versions": [...]} as compact JSON
    rating: Rating             # the package's own severity, UNRATED when it has none


@dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]   # CVE ids first
    summary: str
    modified: str
    rating: Rating
    affected: tuple[AffectedRow, ...]


def parse_record(record: Any) -> Advisory | None:
    """The advisory, or None when it affects nothing we can match (withdrawn, or only
    ecosystems we do not scan)."""
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        raise InvalidRecord("not an OSV record (no id)")
    if record.get("withdrawn"):
        return None
    rows = [row for entry in record.get("affected") or () if (row := _affected_row(entry))]
    if not rows:
        return None
    return Advisory(
        id=record["id"],
        aliases=_aliases(record),
        summary=_summary(record),
        modified=str(record.get("modified", "")),
        rating=rate(record.get("severity"), record.get("database_specific")),
        affected=tuple(rows),
    )


def _aliases(record: dict[str, Any]) -> tuple[str, ...]:
    names = [a for a in (record.get("aliases") or ()) if isinstance(a, str)]
    names += [u for u in (record.get("upstream") or ()) if isinstance(u, str)]
    if CVE_ID.fullmatch(record["id"].removeprefix("DEBIAN-").removeprefix("UBUNTU-")):
        names.append(record["id"].removeprefix("DEBIAN-").removeprefix("UBUNTU-"))
    unique = [n for n in dict.fromkeys(names) if n != record["id"]]
    return tuple(sorted(unique, key=cve_first))


def _summary(record: dict[str, Any]) -> str:
    text = record.get("summary") or (record.get("details") or "").strip().split("\n", 1)[0]
    return str(text)[:300]


def _affected_row(entry: Any) -> AffectedRow | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("package"), dict):
        return None
    package = entry["package"]
    ecosystem = normalize_ecosystem(str(package.get("ecosystem", "")))
    name = package.get("name")
    if ecosystem is None or not isinstance(name, str) or not name:
        return None
    ranges = [
        {"type": r.get("type"), "events": [e for e in r.get("events") or () if isinstance(e, dict)]}
        for r in entry.get("ranges") or ()
        if isinstance(r, dict) and r.get("type") in ("ECOSYSTEM", "SEMVER")
    ]
    versions = [v for v in entry.get("versions") or () if isinstance(v, str)]
    if not ranges and not versions:
        return None
    rating = rate(entry.get("severity"), entry.get("ecosystem_specific"), entry.get("database_specific"))
    return AffectedRow(
        ecosystem=ecosystem,
        name=normalize_name(ecosystem, name),
        ranges_json=json.dumps({"ranges": ranges, "versions": versions}, separators=(",", ":")),
        rating=rating,
    )
