"""DynamoDB adapter (PynamoDB) of the registry's metadata, one module per kind of item.
`DynamoMetadata` implements RegistryCatalog, BlobIndex, ManifestIndex and UploadSessions
(store/ports.py). Every write is conditional or transactional; models never leave here."""
from __future__ import annotations

from pynamodb.connection import Connection

from chalicelib.clock import Clock, SystemClock

from .blobs import BlobItems
from .deletions import DeletionItems
from .gc import GcItems
from .manifests import ManifestItems
from .registries import RegistryItems
from .uploads import UploadItems


class DynamoMetadata(RegistryItems, BlobItems, ManifestItems, UploadItems, GcItems, DeletionItems):
    def __init__(self, region: str, host: str | None, clock: Clock | None = None):
        self._connection = Connection(region=region, host=host)
        self._clock = clock or SystemClock()


__all__ = ["DynamoMetadata"]
