"""Garbage collection's items: marks of what may have become garbage, by the hour they fall
due (GC#<hour>#<shard>), and the conditional deletes that remove a link or a blob only while
nothing uses it. The decisions are in chalicelib/registry/gc.py."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.clock import epoch

from .. import keys
from ..dynamo import cancelled_by_condition, get_item
from ..models import BlobItem, BlobLinkItem, GcMarkItem, ManifestItem, RegistryBytesItem
from .blobs import unreferenced
from ..ports import BlobRecord, GcMark

# A mark outlives its hour by this much (DynamoDB TTL), in case GC does not run for a while.
_MARK_TTL_S = 30 * 24 * 3600


@dataclass(frozen=True)
class LinkState:
    refs: int
    updated_at: datetime | None


@dataclass(frozen=True)
class BlobState:
    record: BlobRecord
    links: int | None  # None: stored before links were counted (never collected)
    updated_at: datetime | None


def _hour(moment: datetime) -> int:
    return epoch(moment) // 3600


class GcItems:
    def mark_garbage(self, marks: Sequence[GcMark], due: datetime) -> None:
        """Ask GC to look at these once `due` has passed. Written before the change that may
        make them garbage, so a crash in between leaves a mark too many, never one too few."""
        hour = _hour(due)
        self.start_sweeps_at("gc", hour)
        with GcMarkItem.batch_write() as batch:
            for mark in marks:
                sk = keys.gc_sk(mark.target, mark.registry, mark.repository, mark.digest, mark.key)
                shard = hashlib.sha256(sk.encode()).hexdigest()[0]
                batch.save(GcMarkItem(keys.gc_pk(hour, shard), sk, target=mark.target, registry=mark.registry,
                                      repository=mark.repository, digest=mark.digest, key=mark.key,
                                      ttl=hour * 3600 + _MARK_TTL_S))

    def gc_marks(self, hour: int) -> list[tuple[GcMark, tuple[str, str]]]:
        return [(GcMark(i.target, i.registry, i.repository, i.digest, i.key), (i.pk, i.sk))
                for shard in keys.GC_SHARDS for i in GcMarkItem.query(keys.gc_pk(hour, shard))]

    def drop_mark(self, item_key: tuple[str, str]) -> None:
        GcMarkItem(*item_key).delete()

    # ---- what a mark points at --------------------------------------------------------

    def link_state(self, registry: str, repository: str, digest: str) -> LinkState | None:
        item = get_item(BlobLinkItem, keys.repo_pk(registry, repository), keys.blob_sk(digest), consistent=True)
        return item and LinkState(int(item.refs or 0), item.updated_at)

    def blob_state(self, registry: str, digest: str) -> BlobState | None:
        item = get_item(BlobItem, keys.registry_pk(registry), keys.blob_sk(digest), consistent=True)
        return item and BlobState(BlobRecord(digest, int(item.size), item.key),
                                  int(item.links) if item.links is not None else None, item.updated_at)

    def manifest_object_in_use(self, registry: str, repository: str, digest: str, key: str) -> bool:
        item = get_item(ManifestItem, keys.repo_pk(registry, repository), keys.manifest_sk(digest), consistent=True)
        return item is not None and item.manifest.key == key

    # ---- removal, only while still unused ---------------------------------------------

    def collect_link(self, registry: str, repository: str, digest: str, cutoff: datetime) -> bool:
        """Delete a link no manifest references and nobody touched since `cutoff`; the blob
        then counts one repository less."""
        return self.remove_link(registry, repository, digest, unreferenced() & (BlobLinkItem.updated_at < cutoff))

    def collect_blob(self, registry: str, digest: str, cutoff: datetime) -> BlobRecord | None:
        """Delete a blob no repository links and nobody linked since `cutoff`, and count its
        bytes out of the registry; returns it (its S3 object is the caller's to delete)."""
        state = self.blob_state(registry, digest)
        if state is None:
            return None
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.delete(BlobItem(keys.registry_pk(registry), keys.blob_sk(digest)),
                          condition=(BlobItem.links <= 0) & (BlobItem.updated_at < cutoff)
                          & (BlobItem.key == state.record.key))
                tx.update(RegistryBytesItem(keys.registry_pk(registry), keys.REGISTRY_BYTES_SK),
                          actions=[RegistryBytesItem.kind.set(RegistryBytesItem),
                                   RegistryBytesItem.stored.add(-state.record.size)])
            return state.record
        except TransactWriteError as error:
            if cancelled_by_condition(error):
                return None
            raise
