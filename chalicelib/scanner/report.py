"""Scan reports: one section per platform (a single image has one), a summary for the
manifest item and pull policies, JSON for S3, and the filters the API offers.

    report = build_report(inventory, match(inventory, db), db.version, platform="linux/amd64")
    combined = combine_reports([amd64_report, arm64_report])   # an index
    combined.summary().to_dict()   # {"severity_counts": {...}, "fixable": 3, "secrets": 1, ...}
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .findings import Finding
from .inventory import Inventory, OsRelease, SecretFinding, value_from_dict
from .severities import SEVERITIES

REPORT_SCHEMA = 1
# Ids listed per severity in a summary; counts stay exact beyond it.
SUMMARY_IDS_PER_SEVERITY = 50
TYPES = ("os", "language", "secret")


@dataclass(frozen=True)
class PlatformReport:
    platform: str                      # "linux/amd64", or "" for a single-platform image
    os: OsRelease | None
    packages: int
    findings: tuple[Finding, ...]
    secrets: tuple[SecretFinding, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    severity_counts: dict[str, int]    # unique vulnerabilities (id + package + version) per severity
    vulnerabilities: dict[str, list[str]]
    truncated: list[str]               # severities whose id list was cut (policies then count the rest)
    total: int
    fixable: int
    secrets: int
    packages: int
    db_version: str

    def to_dict(self) -> dict[str, Any]:
        return {"status": "completed", **asdict(self)}


@dataclass(frozen=True)
class Report:
    db_version: str
    platforms: tuple[PlatformReport, ...] = field(default_factory=tuple)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for p in self.platforms for f in p.findings)

    @property
    def secrets(self) -> tuple[SecretFinding, ...]:
        return tuple(s for p in self.platforms for s in p.secrets)

    def summary(self) -> Summary:
        """Counts over all platforms; the same vulnerability of the same package version
        in two platforms counts once."""
        unique: dict[tuple, Finding] = {}
        for finding in self.findings:
            unique.setdefault((finding.id, finding.package_type, finding.package_name, finding.installed_version), finding)
        counts = {severity: 0 for severity in SEVERITIES}
        ids: dict[str, list[str]] = {severity: [] for severity in SEVERITIES}
        truncated: set[str] = set()
        for finding in unique.values():
            counts[finding.severity] += 1
            if finding.id in ids[finding.severity]:
                continue
            if len(ids[finding.severity]) < SUMMARY_IDS_PER_SEVERITY:
                ids[finding.severity].append(finding.id)
            else:
                truncated.add(finding.severity)
        secrets = {(s.rule_id, s.layer, s.path, s.line) for s in self.secrets}
        return Summary(
            severity_counts=counts,
            vulnerabilities={k: v for k, v in ids.items() if v},
            truncated=[severity for severity in SEVERITIES if severity in truncated],
            total=len(unique),
            fixable=sum(1 for f in unique.values() if f.fixable),
            secrets=len(secrets),
            packages=max((p.packages for p in self.platforms), default=0),
            db_version=self.db_version,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"schema": REPORT_SCHEMA, "summary": self.summary().to_dict(), **asdict(self)}

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Report:
        document = json.loads(data)
        if document.get("schema") != REPORT_SCHEMA:
            raise ValueError(f"unsupported report schema {document.get('schema')!r}")
        return cls(
            db_version=document.get("db_version", ""),
            platforms=tuple(_platform_from_dict(p) for p in document.get("platforms", ())),
        )


def build_report(inventory: Inventory, findings: Iterable[Finding], db_version: str, platform: str = "") -> Report:
    section = PlatformReport(
        platform=platform,
        os=inventory.os,
        packages=len(inventory.packages),
        findings=tuple(findings),
        secrets=inventory.secrets,
        warnings=inventory.warnings,
    )
    return Report(db_version=db_version, platforms=(section,))


def platform_of(config: dict[str, Any] | None) -> str:
    """"linux/arm64/v8" from an image config (os, architecture, variant); "" if unknown."""
    if not isinstance(config, dict):
        return ""
    parts = [config.get(key) for key in ("os", "architecture", "variant")]
    return "/".join(str(part) for part in parts if isinstance(part, str) and part)


def combine_reports(reports: Iterable[Report]) -> Report:
    """One report for an index from the reports of its images."""
    reports = list(reports)
    versions = sorted({r.db_version for r in reports})
    return Report(
        db_version=versions[0] if len(versions) == 1 else ",".join(versions),
        platforms=tuple(p for r in reports for p in r.platforms),
    )


def filter_report(report: Report, *, severity: str | Collection[str] | None = None, fixable: bool | None = None,
                  package: str | None = None, type: str | None = None) -> Report:
    """The report with only what matches every given filter. `severity` is one
    severity or several; `type` is "os", "language" or "secret"; `package` matches a
    package name (case-insensitive). Secrets have no package and no fix: they are
    kept only when neither filter is given, and then by their own severity."""
    wanted = _severities(severity)
    if type is not None and type not in TYPES:
        raise ValueError(f"type is one of {', '.join(TYPES)}")

    def keep_finding(finding: Finding) -> bool:
        return (
            (wanted is None or finding.severity in wanted)
            and (fixable is None or finding.fixable == fixable)
            and (package is None or finding.package_name.lower() == package.lower())
            and (type is None or finding.category == type)
        )

    def keep_secret(secret: SecretFinding) -> bool:
        return (
            (wanted is None or secret.severity in wanted)
            and fixable is None and package is None
            and type in (None, "secret")
        )

    return replace(report, platforms=tuple(
        replace(p, findings=tuple(filter(keep_finding, p.findings)), secrets=tuple(filter(keep_secret, p.secrets)))
        for p in report.platforms
    ))


def _severities(severity: str | Collection[str] | None) -> frozenset[str] | None:
    if severity is None:
        return None
    values = {severity} if isinstance(severity, str) else set(severity)
    normalised = frozenset(v.upper() for v in values)
    unknown = normalised - set(SEVERITIES)
    if unknown:
        raise ValueError(f"severity is one of {', '.join(SEVERITIES)}")
    return normalised


def _platform_from_dict(document: dict[str, Any]) -> PlatformReport:
    os_release = document.get("os")
    return PlatformReport(
        platform=document.get("platform", ""),
        os=value_from_dict(OsRelease, os_release) if os_release else None,
        packages=int(document.get("packages", 0)),
        findings=tuple(value_from_dict(Finding, f) for f in document.get("findings", ())),
        secrets=tuple(value_from_dict(SecretFinding, s) for s in document.get("secrets", ())),
        warnings=tuple(document.get("warnings", ())),
    )

