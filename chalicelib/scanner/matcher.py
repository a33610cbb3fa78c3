"""match: an inventory against a VulnDB.

Distro packages are looked up by their source package (the unit distributions write
advisories for) in the image's release; language packages by ecosystem and
normalised name. Advisories that are the same vulnerability (a PYSEC and a GHSA
record of one CVE) become one finding."""

from __future__ import annotations

from collections.abc import Iterable

from .ecosystems import normalize_name, package_ecosystem
from .findings import CVE_ID, Finding, cve_first
from .inventory import Inventory, Package
from .severities import severity_rank
from .versions import evaluate
from .vulndb.db import Candidate, VulnDB
from .vulndb.severity import Rating


def match(inventory: Inventory, db: VulnDB) -> list[Finding]:
    findings: list[Finding] = []
    for package in inventory.packages:
        ecosystem = package_ecosystem(package, inventory.os)
        if ecosystem is not None:
            findings.extend(_package_findings(package, ecosystem, db))
    return sorted(findings, key=lambda f: (severity_rank(f.severity), f.package_name, f.installed_version, f.id, f.path))


def _lookup(package: Package) -> tuple[list[str], str]:
    """Names to look up and the version to compare."""
    if package.type == "deb":
        # Debian advisories give source versions (a binNMU "+b1" binary has its own).
        return [package.source_name or package.name], package.source_version or package.version
    if package.type == "apk":
        return [package.source_name or package.name], package.version
    if package.type == "rpm":
        # Rocky/Alma advisories list binary packages; others name the source package.
        return list(dict.fromkeys([package.name, package.source_name or package.name])), package.version
    return [package.name], package.version


def _package_findings(package: Package, ecosystem: str, db: VulnDB) -> list[Finding]:
    names, version = _lookup(package)
    hits: list[tuple[Candidate, tuple[str, ...]]] = []
    seen: set[str] = set()
    for name in names:
        for candidate in db.candidates(ecosystem, normalize_name(ecosystem, name)):
            if candidate.id in seen:
                continue
            verdict = evaluate(ecosystem, version, candidate.affected)
            if verdict.affected:
                seen.add(candidate.id)
                hits.append((candidate, verdict.fixed))
    return [_finding(package, ecosystem, group) for group in _group(hits)]


def _primary(candidate: Candidate) -> str:
    cves = [a for a in (candidate.id, *candidate.aliases) if CVE_ID.fullmatch(a)]
    return cves[0] if len(set(cves)) == 1 else candidate.id


def _group(hits: list[tuple[Candidate, tuple[str, ...]]]) -> Iterable[list[tuple[Candidate, tuple[str, ...]]]]:
    groups: dict[str, list[tuple[Candidate, tuple[str, ...]]]] = {}
    for hit in hits:
        groups.setdefault(_primary(hit[0]), []).append(hit)
    for primary, group in groups.items():
        cves = {a for candidate, _ in group for a in candidate.aliases if CVE_ID.fullmatch(a)}
        # A bulletin covering several CVEs (DSA, ALSA) adds nothing when each of its
        # CVEs is already a finding of its own.
        if not CVE_ID.fullmatch(primary) and len(cves) > 1 and cves <= groups.keys():
            continue
        yield group


def _finding(package: Package, ecosystem: str, group: list[tuple[Candidate, tuple[str, ...]]]) -> Finding:
    primary = _primary(group[0][0])
    ids = {primary}
    aliases: list[str] = []
    for candidate, _ in group:
        for name in (candidate.id, *candidate.aliases):
            if name not in ids:
                ids.add(name)
                aliases.append(name)
    rating = min((candidate.rating for candidate, _ in group), key=_rating_order)
    fixed = tuple(dict.fromkeys(v for _, fixed_versions in group for v in fixed_versions))
    return Finding(
        id=primary,
        aliases=tuple(sorted(aliases, key=cve_first)),
        summary=next((candidate.summary for candidate, _ in group if candidate.summary), ""),
        severity=rating.severity,
        score=rating.score,
        vector=rating.vector,
        ecosystem=ecosystem,
        package_type=package.type,
        package_name=package.name,
        installed_version=package.version,
        fixed_versions=fixed,
        purl=package.purl,
        path=package.path,
        layer=package.layer,
        source_name=package.source_name,
    )


def _rating_order(rating: Rating) -> tuple:
    # Most severe first; among equals, a scored rating before an unscored one.
    return severity_rank(rating.severity), -(rating.score or 0.0)
