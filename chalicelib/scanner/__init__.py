"""The scanner: reads an image's layers into an inventory (OS, packages, secrets),
matches it against a vulnerability DB built from OSV records, and reports (JSON,
summary, filters, CycloneDX SBOM). A pure library: layers come in as streams and
the DB goes through the ObjectStore port; nothing here knows Lambda, DynamoDB or HTTP.

    inventory = inventory_image([LayerSource(d.digest, d.media_type, opener(d)) for d in layers], config)
    db = load(objects, "/tmp/vulndb")
    report = build_report(inventory, match(inventory, db), db.version, platform="linux/amd64")

Names are loaded on first use: a function that only filters stored reports does not
pay for univers, cvss and cyclonedx at cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    # reading images
    "DEFAULT_LIMITS": "limits", "Limits": "limits", "LayerSource": "collect", "ScanFailed": "errors",
    "Inventory": "inventory", "OsRelease": "inventory", "Package": "inventory", "SecretFinding": "inventory",
    "inventory_image": "scan",
    # vulnerability DB
    "DbInfo": "vulndb.build", "import_osv": "vulndb.build", "VulnDB": "vulndb.db", "VulnDBError": "vulndb.db",
    "POINTER_KEY": "vulndb.publish", "Pointer": "vulndb.publish", "current_pointer": "vulndb.publish",
    "load": "vulndb.publish", "publish": "vulndb.publish",
    # matching and reports
    "Finding": "findings", "match": "matcher", "PlatformReport": "report", "Report": "report",
    "Summary": "report", "build_report": "report", "combine_reports": "report", "filter_report": "report",
    "platform_of": "report",
    "SEVERITIES": "severities", "sbom": "sbom",
}
__all__ = [
    "DEFAULT_LIMITS",
    "POINTER_KEY",
    "SEVERITIES",
    "DbInfo",
    "Finding",
    "Inventory",
    "LayerSource",
    "Limits",
    "OsRelease",
    "Package",
    "PlatformReport",
    "Pointer",
    "Report",
    "ScanFailed",
    "SecretFinding",
    "Summary",
    "VulnDB",
    "VulnDBError",
    "build_report",
    "combine_reports",
    "current_pointer",
    "filter_report",
    "import_osv",
    "inventory_image",
    "load",
    "match",
    "platform_of",
    "publish",
    "sbom",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors; never executed
    from .collect import LayerSource
    from .errors import ScanFailed
    from .findings import Finding
    from .inventory import Inventory, OsRelease, Package, SecretFinding
    from .limits import DEFAULT_LIMITS, Limits
    from .matcher import match
    from .report import (
        PlatformReport,
        Report,
        Summary,
        build_report,
        combine_reports,
        filter_report,
    )
    from .sbom import sbom
    from .scan import inventory_image
    from .severities import SEVERITIES
    from .vulndb.build import DbInfo, import_osv
    from .vulndb.db import VulnDB, VulnDBError
    from .vulndb.publish import POINTER_KEY, Pointer, current_pointer, load, publish
