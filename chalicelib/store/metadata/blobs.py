"""Blobs: the registry's stored bytes (REG#<r> / BLOB#<digest>, counting the repositories that
link them) and each repository's links (REPO#<r>/<repo> / BLOB#<digest>, counting the
manifests that reference them). Counts move in the same transaction as the items, so GC
(gc.py) can decide with one conditional delete whether something is still in use."""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from .. import keys
from ..dynamo import (
    BATCH_GET_MAX,
    cancelled_by_condition,
    condition_failed,
    delete_if_exists,
    get_item,
    stamp_deleter,
)
from ..models import BlobItem, BlobLinkItem, RegistryBytesItem, RegistryItem, UploadItem
from ..ports import BlobInUse, BlobRecord, QuotaExceeded, RegistryUnknown, UploadUnknown

_ATTEMPTS = 8  # a commit retries while racing uploads, mounts and GC over the same digest


class BlobItems:
    def get_blob(self, registry: str, repository: str, digest: str) -> BlobRecord | None:
        item = get_item(BlobLinkItem, keys.repo_pk(registry, repository), keys.blob_sk(digest))
        return item and BlobRecord(digest, int(item.size), item.key)

    def get_registry_blob(self, registry: str, digest: str) -> BlobRecord | None:
        item = get_item(BlobItem, keys.registry_pk(registry), keys.blob_sk(digest), consistent=True)
        return item and BlobRecord(digest, int(item.size), item.key)

    def linked_bytes(self, registry: str, repository: str) -> int:
        """Bytes of the blobs a repository links (shared ones counted in each repository)."""
        return sum(int(i.size) for i in BlobLinkItem.query(
            keys.repo_pk(registry, repository), BlobLinkItem.sk.startswith(keys.blob_sk("")),
            attributes_to_get=["pk", "sk", "kind", "size"]))

    def missing_blobs(self, registry: str, repository: str, digests: Sequence[str]) -> list[str]:
        return self._missing(BlobLinkItem, keys.repo_pk(registry, repository), keys.blob_sk, digests)

    def link_blob(self, registry: str, repository: str, blob: BlobRecord, actor: str) -> bool:
        """Link a blob the registry stores into a repository (a mount). False when the
        registry no longer stores it (GC took it): the client uploads it instead."""
        for _ in range(_ATTEMPTS):
            if self._touch_link(registry, repository, blob.digest, actor):
                return True
            try:
                with TransactWrite(connection=self._connection) as tx:
                    _require_active(tx, registry)
                    self._add_link(tx, registry, repository, blob, actor)
                return True
            except TransactWriteError as error:
                if not cancelled_by_condition(error):
                    raise
                current = self.get_registry_blob(registry, blob.digest)
                if current is None or current.key != blob.key:
                    return False
                record = self.get_registry(registry, consistent=True)
                if record is None or record.status != "active":
                    raise RegistryUnknown(registry) from error
        raise RuntimeError(f"could not link {blob.digest}: too much contention")

    def commit_blob(self, registry: str, repository: str, blob: BlobRecord, upload_id: str,
                    actor: str, quota: int | None = None) -> BlobRecord:
        """Record a verified upload and end its session, atomically. Returns the blob that is
        now stored: ours, or the copy another upload of the same digest committed first.
        Raises UploadUnknown when the session was cancelled or swept meanwhile, QuotaExceeded
        when new bytes would take the registry past `quota`, RegistryUnknown when the registry
        is being deleted."""
        for _ in range(_ATTEMPTS):
            existing = self.get_registry_blob(registry, blob.digest)
            try:
                with TransactWrite(connection=self._connection) as tx:
                    tx.delete(_upload_key(upload_id), condition=UploadItem.pk.exists())
                    _require_active(tx, registry)
                    if existing is None:
                        self._store_new(tx, registry, repository, blob, actor, quota)
                    elif not self._has_link(registry, repository, blob.digest):
                        self._add_link(tx, registry, repository, existing, actor)
                    else:
                        tx.update(BlobLinkItem(keys.repo_pk(registry, repository), keys.blob_sk(blob.digest)),
                                  actions=[BlobLinkItem.updated_at.set(self._clock.now())],
                                  condition=BlobLinkItem.pk.exists())
                return existing or blob
            except TransactWriteError as error:
                if not cancelled_by_condition(error):
                    raise
            self._explain_refused_commit(registry, blob, upload_id, quota)
        raise RuntimeError(f"could not commit {blob.digest}: too much contention")

    def unlink_blob(self, registry: str, repository: str, digest: str, actor: str = "system") -> bool:
        """Remove a blob from a repository; False when it is not there. Raises BlobInUse while
        a manifest of the repository references it."""
        link = BlobLinkItem(keys.repo_pk(registry, repository), keys.blob_sk(digest))
        if not stamp_deleter(link, actor, self._clock.now()):
            return False
        if self.remove_link(registry, repository, digest, unreferenced()):
            return True
        current = get_item(BlobLinkItem, link.pk, link.sk, consistent=True)
        if current is None:
            return False
        raise BlobInUse(digest, int(current.refs or 0))

    def remove_link(self, registry: str, repository: str, digest: str, condition) -> bool:
        """Delete a link while `condition` holds, and count the blob's repositories down in
        the same transaction (a link whose blob is gone, legacy data, goes alone)."""
        link = BlobLinkItem(keys.repo_pk(registry, repository), keys.blob_sk(digest))
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.delete(link, condition=BlobLinkItem.pk.exists() & condition)
                tx.update(BlobItem(keys.registry_pk(registry), keys.blob_sk(digest)),
                          actions=[BlobItem.links.add(-1)], condition=BlobItem.pk.exists())
            return True
        except TransactWriteError as error:
            if not cancelled_by_condition(error):
                raise
        if self.get_registry_blob(registry, digest) is None:
            return delete_if_exists(link, condition=condition)
        return False

    # ---- internals --------------------------------------------------------------------

    def _store_new(self, tx, registry: str, repository: str, blob: BlobRecord, actor: str,
                   quota: int | None) -> None:
        now = self._clock.now()
        tx.save(BlobItem(keys.registry_pk(registry), keys.blob_sk(blob.digest), size=blob.size, key=blob.key,
                         links=1, updated_by=actor, updated_at=now), condition=BlobItem.pk.does_not_exist())
        tx.save(_link_item(registry, repository, blob, actor, now), condition=BlobLinkItem.pk.does_not_exist())
        condition = None
        if quota is not None:
            # Exact at the byte, race-free: the add happens only while stored + size <= quota.
            room = quota - blob.size
            if room < 0:
                raise QuotaExceeded(registry, quota, self.registry_bytes(registry), blob.size)
            condition = RegistryBytesItem.stored.does_not_exist() | (RegistryBytesItem.stored <= room)
        tx.update(RegistryBytesItem(keys.registry_pk(registry), keys.REGISTRY_BYTES_SK),
                  actions=[RegistryBytesItem.kind.set(RegistryBytesItem), RegistryBytesItem.stored.add(blob.size)],
                  condition=condition)

    def _add_link(self, tx, registry: str, repository: str, blob: BlobRecord, actor: str) -> None:
        now = self._clock.now()
        # The key too: a blob read a moment ago may have been collected and stored again
        # since, at another key; a link must never point at the collected one's bytes.
        tx.update(BlobItem(keys.registry_pk(registry), keys.blob_sk(blob.digest)),
                  actions=[BlobItem.links.add(1), BlobItem.updated_at.set(now)],
                  condition=BlobItem.pk.exists() & (BlobItem.key == blob.key))
        tx.save(_link_item(registry, repository, blob, actor, now), condition=BlobLinkItem.pk.does_not_exist())

    def _touch_link(self, registry: str, repository: str, digest: str, actor: str) -> bool:
        """Refresh an existing link (GC's grace period starts again); False when there is none."""
        try:
            BlobLinkItem(keys.repo_pk(registry, repository), keys.blob_sk(digest)).update(
                actions=[BlobLinkItem.updated_at.set(self._clock.now()), BlobLinkItem.updated_by.set(actor)],
                condition=BlobLinkItem.pk.exists())
            return True
        except UpdateError as error:
            if condition_failed(error):
                return False
            raise

    def _has_link(self, registry: str, repository: str, digest: str) -> bool:
        return get_item(BlobLinkItem, keys.repo_pk(registry, repository), keys.blob_sk(digest),
                        consistent=True, attributes=["pk", "sk", "kind"]) is not None

    def _explain_refused_commit(self, registry: str, blob: BlobRecord, upload_id: str, quota: int | None) -> None:
        """After a cancelled commit: raise what refused it, or return to try again (a race)."""
        if self.get_upload(upload_id) is None:
            raise UploadUnknown(upload_id)
        record = self.get_registry(registry, consistent=True)
        if record is None or record.status != "active":
            raise RegistryUnknown(registry)
        stored = self.registry_bytes(registry)
        if quota is not None and self.get_registry_blob(registry, blob.digest) is None \
                and stored + blob.size > quota:
            raise QuotaExceeded(registry, quota, stored, blob.size)

    @staticmethod
    def _missing(model, pk: str, sk_of, digests: Sequence[str]) -> list[str]:
        wanted = list(dict.fromkeys(digests))
        found: set[str] = set()
        for start in range(0, len(wanted), BATCH_GET_MAX):
            batch = [(pk, sk_of(d)) for d in wanted[start:start + BATCH_GET_MAX]]
            found.update(item.sk for item in model.batch_get(batch, attributes_to_get=["pk", "sk", "kind"]))
        return [d for d in wanted if sk_of(d) not in found]


def _require_active(tx, registry: str) -> None:
    """Nothing new lands in a registry that is being deleted."""
    tx.condition_check(RegistryItem, keys.REGISTRIES_PK, keys.registry_sk(registry),
                       condition=RegistryItem.pk.exists() & RegistryItem.status.does_not_exist())


def unreferenced():
    return BlobLinkItem.refs.does_not_exist() | (BlobLinkItem.refs <= 0)


def _upload_key(upload_id: str) -> UploadItem:
    return UploadItem(keys.upload_pk(upload_id), upload_id)


def _link_item(registry: str, repository: str, blob: BlobRecord, actor: str, now: datetime) -> BlobLinkItem:
    return BlobLinkItem(keys.repo_pk(registry, repository), keys.blob_sk(blob.digest), size=blob.size,
                        key=blob.key, refs=0, updated_by=actor, updated_at=now)
