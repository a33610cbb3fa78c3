"""The scanner: reads an image's layers into an inventory (OS, packages, secrets),
matches it against a vulnerability DB built from OSV records, and reports (JSON,
summary, filters, CycloneDX SBOM). A pure library: storage comes in as streams and
the ObjectStore port, nothing here knows about Lambda, DynamoDB or HTTP."""

from .collect import LayerSource
from .errors import ScanFailed
from .inventory import Inventory, OsRelease, Package, SecretFinding
from .limits import DEFAULT_LIMITS, Limits
from .scan import inventory_image

__all__ = [
    "DEFAULT_LIMITS",
    "Inventory",
    "LayerSource",
    "Limits",
    "OsRelease",
    "Package",
    "ScanFailed",
    "SecretFinding",
    "inventory_image",
]
