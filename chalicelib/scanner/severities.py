"""Severity names and their order (no dependencies: the API filters reports with it)."""

from __future__ import annotations

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")   # most severe first


def severity_rank(severity: str) -> int:
    """0 for CRITICAL ... 4 for UNKNOWN (and anything unrecognised)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1
