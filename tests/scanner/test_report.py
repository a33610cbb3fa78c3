"""Reports: per-platform sections, a summary that counts each vulnerability once, JSON
for S3, the API's filters, and a summary the registry's pull policy understands."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chalicelib.registry.policy import effective
from chalicelib.scanner import (
    Finding,
    Inventory,
    OsRelease,
    Report,
    SecretFinding,
    build_report,
    combine_reports,
    filter_report,
    platform_of,
)


def _finding(id: str, severity: str, package: str = "openssl", fixed=("3.0.13",), type="deb") -> Finding:
    return Finding(id=id, aliases=(), summary="", severity=severity, score=None, vector=None, ecosystem="Debian:12",
                   package_type=type, package_name=package, installed_version="3.0.11", fixed_versions=fixed,
                   purl=f"pkg:{type}/{package}@3.0.11", path="var/lib/dpkg/status", layer="sha256:aa")


SECRET = SecretFinding("github-token", "GitHub token", "CRITICAL", "sha256:bb", "root/.git-credentials", 1, "ghp_ab****",
                       deleted_later=True)
INVENTORY = Inventory(os=OsRelease("debian", "12"), packages=(), secrets=(SECRET,), layers=("sha256:aa",))
FINDINGS = [
    _finding("CVE-2024-0001", "CRITICAL"),
    _finding("CVE-2024-0002", "HIGH", fixed=()),
    _finding("CVE-2024-0003", "LOW", package="requests", type="pypi"),
]


def test_summary_and_json_round_trip():
    report = build_report(INVENTORY, FINDINGS, "v1", platform="linux/amd64")
    summary = report.summary().to_dict()
    assert summary["severity_counts"] == {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 0, "LOW": 1, "UNKNOWN": 0}
    assert summary["vulnerabilities"] == {"CRITICAL": ["CVE-2024-0001"], "HIGH": ["CVE-2024-0002"], "LOW": ["CVE-2024-0003"]}
    assert (summary["total"], summary["fixable"], summary["secrets"], summary["db_version"]) == (3, 2, 1, "v1")
    stored = report.to_json()
    assert json.loads(stored)["summary"] == summary
    assert Report.from_json(stored) == report


def test_platforms_combine_and_count_once():
    amd64 = build_report(INVENTORY, FINDINGS, "v1", platform="linux/amd64")
    arm64 = build_report(INVENTORY, FINDINGS[:1] + [_finding("CVE-2024-0009", "MEDIUM")], "v1", platform="linux/arm64")
    combined = combine_reports([amd64, arm64])
    assert [p.platform for p in combined.platforms] == ["linux/amd64", "linux/arm64"]
    summary = combined.summary()
    assert summary.total == 4 and summary.severity_counts["CRITICAL"] == 1 and summary.secrets == 1
    assert Report.from_json(combined.to_json()) == combined


def test_filters():
    report = build_report(INVENTORY, FINDINGS, "v1")
    ids = lambda r: [f.id for f in r.findings]
    assert ids(filter_report(report, severity="critical")) == ["CVE-2024-0001"]
    assert ids(filter_report(report, severity=["HIGH", "LOW"])) == ["CVE-2024-0002", "CVE-2024-0003"]
    assert ids(filter_report(report, fixable=True)) == ["CVE-2024-0001", "CVE-2024-0003"]
    assert ids(filter_report(report, package="Requests")) == ["CVE-2024-0003"]
    assert ids(filter_report(report, type="os")) == ["CVE-2024-0001", "CVE-2024-0002"]
    assert filter_report(report, type="os").secrets == ()
    only_secrets = filter_report(report, type="secret")
    assert only_secrets.findings == () and only_secrets.secrets == (SECRET,)
    assert filter_report(report, severity="CRITICAL").secrets == (SECRET,)
    with pytest.raises(ValueError):
        filter_report(report, severity="SEVERE")
    with pytest.raises(ValueError):
        filter_report(report, type="binary")


def test_the_pull_policy_reads_the_summary():
    report = build_report(INVENTORY, FINDINGS, "v1")
    policy = effective(json.dumps({"block_pull": {"severity": "HIGH", "allowlist": ["CVE-2024-0002"]}}))
    refusal = policy.pull_refusal("acme/app", "sha256:cc", json.dumps(report.summary().to_dict()),
                                  datetime(2026, 1, 1, tzinfo=UTC))
    assert refusal and "CVE-2024-0001" in refusal and "CVE-2024-0002" not in refusal
    clean = build_report(replace(INVENTORY, secrets=()), FINDINGS[2:], "v1")
    assert policy.pull_refusal("acme/app", "sha256:cc", json.dumps(clean.summary().to_dict()),
                               datetime(2026, 1, 1, tzinfo=UTC)) is None


def test_platform_of_an_image_config():
    assert platform_of({"os": "linux", "architecture": "arm64", "variant": "v8"}) == "linux/arm64/v8"
    assert platform_of({"os": "linux", "architecture": "amd64"}) == "linux/amd64"
    assert platform_of(None) == ""
