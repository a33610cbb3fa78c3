"""A severity for an OSV record: from its CVSS vector when it has one (scored with the
`cvss` library), else from the label its database gives (GHSA "MODERATE", Ubuntu
priorities, Debian urgencies, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

_LABELS = {
    "critical": "CRITICAL",
    "high": "HIGH", "important": "HIGH",
    "moderate": "MEDIUM", "medium": "MEDIUM",
    "low": "LOW", "negligible": "LOW", "unimportant": "LOW", "minor": "LOW",
}
# Preference when a record has several vectors: v3 is what most policies are written
# against, then v4, then v2.
_VECTOR_ORDER = ("CVSS_V3", "CVSS_V4", "CVSS_V2")


@dataclass(frozen=True)
class Rating:
    severity: str = "UNKNOWN"
    score: float | None = None
    vector: str | None = None


UNRATED = Rating()


def rating_from_score(score: float) -> str:
    # CVSS v3 qualitative scale; NVD maps v2 scores to the same bands (without CRITICAL
    # in v2, which a v2 score of 9.0+ still deserves here).
    if score >= 9.0:
        return "CRITICAL"
    if score >= 7.0:
        return "HIGH"
    if score >= 4.0:
        return "MEDIUM"
    if score > 0.0:
        return "LOW"
    return "UNKNOWN"


def rate_vector(kind: str, vector: str) -> Rating | None:
    try:
        if kind == "CVSS_V3":
            cvss = CVSS3(vector)
            score = float(cvss.base_score)
            return Rating(cvss.severities()[0].upper() if score else "UNKNOWN", score, cvss.clean_vector())
        if kind == "CVSS_V4":
            cvss4 = CVSS4(vector)
            score = float(cvss4.base_score)
            return Rating(cvss4.severity.upper() if score else "UNKNOWN", score, cvss4.clean_vector())
        if kind == "CVSS_V2":
            cvss2 = CVSS2(vector)
            score = float(cvss2.base_score)
            return Rating(rating_from_score(score), score, cvss2.clean_vector())
    except (CVSSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return None


def rate_label(label: Any) -> Rating | None:
    if isinstance(label, str) and label.strip().lower() in _LABELS:
        return Rating(_LABELS[label.strip().lower()])
    return None


def rate(severity: Any, *specifics: Any) -> Rating:
    """From an OSV `severity` list, else from `severity` labels in the given
    database_specific / ecosystem_specific objects."""
    entries = [e for e in severity if isinstance(e, dict)] if isinstance(severity, list) else []
    for kind in _VECTOR_ORDER:
        for entry in entries:
            if entry.get("type") == kind and isinstance(entry.get("score"), str):
                rating = rate_vector(kind, entry["score"])
                if rating is not None:
                    return rating
    for entry in entries:
        # Ubuntu's records: {"type": "Ubuntu", "score": "medium"}
        rating = rate_label(entry.get("score"))
        if rating is not None:
            return rating
    for specific in specifics:
        if isinstance(specific, dict):
            for key in ("severity", "urgency", "priority"):
                rating = rate_label(specific.get(key))
                if rating is not None:
                    return rating
    return UNRATED
