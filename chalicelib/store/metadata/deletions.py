"""Registries and repositories being deleted in the background (DELETIONS / <registry>[/<repo>]),
and the item-level steps the deletion worker (chalicelib/registry/deletion.py) takes."""
from __future__ import annotations

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from .. import keys
from ..dynamo import cancelled_by_condition, condition_failed, delete_if_exists, get_item, stamp_deleter
from ..models import (
    BlobItem,
    BlobLinkItem,
    DeletionItem,
    ReferrerItem,
    RegistryBytesItem,
    RegistryItem,
    RepositoryItem,
)
from ..ports import BlobRecord, DeletionRecord, RegistryUnknown


class DeletionItems:
    def start_registry_deletion(self, registry: str, actor: str) -> DeletionRecord:
        """Mark the registry as being deleted (pushes and pulls stop) and queue the work."""
        now = self._clock.now()
        item = DeletionItem(keys.DELETIONS_PK, keys.deletion_sk(registry), registry=registry,
                            requested_at=now, requested_by=actor, removed={}, updated_by=actor, updated_at=now)
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.update(RegistryItem(keys.REGISTRIES_PK, keys.registry_sk(registry)),
                          actions=[RegistryItem.status.set("deleting"), RegistryItem.updated_by.set(actor),
                                   RegistryItem.updated_at.set(now)],
                          condition=RegistryItem.pk.exists() & RegistryItem.status.does_not_exist())
                tx.save(item)
        except TransactWriteError as error:
            if cancelled_by_condition(error):
                raise RegistryUnknown(registry) from error
            raise
        return _record(item)

    def start_repository_deletion(self, registry: str, repository: str, actor: str) -> DeletionRecord:
        now = self._clock.now()
        item = DeletionItem(keys.DELETIONS_PK, keys.deletion_sk(registry, repository), registry=registry,
                            repository=repository, requested_at=now, requested_by=actor, removed={},
                            updated_by=actor, updated_at=now)
        try:
            item.save(condition=DeletionItem.pk.does_not_exist())
        except PutError as error:
            if not condition_failed(error):
                raise
            return self.get_deletion(registry, repository) or _record(item)
        return _record(item)

    def get_deletion(self, registry: str, repository: str | None = None) -> DeletionRecord | None:
        item = get_item(DeletionItem, keys.DELETIONS_PK, keys.deletion_sk(registry, repository), consistent=True)
        return item and _record(item)

    def deletions(self) -> list[DeletionRecord]:
        return [_record(i) for i in DeletionItem.query(keys.DELETIONS_PK)]

    def record_deletion_progress(self, record: DeletionRecord, removed: dict) -> None:
        DeletionItem(keys.DELETIONS_PK, keys.deletion_sk(record.registry, record.repository)).update(
            actions=[DeletionItem.removed.set(removed), DeletionItem.updated_at.set(self._clock.now())],
            condition=DeletionItem.pk.exists())

    def finish_deletion(self, record: DeletionRecord) -> None:
        delete_if_exists(DeletionItem(keys.DELETIONS_PK, keys.deletion_sk(record.registry, record.repository)))

    # ---- the worker's steps ----------------------------------------------------------

    def linked_digests(self, registry: str, repository: str, limit: int) -> list[str]:
        query = BlobLinkItem.query(keys.repo_pk(registry, repository), BlobLinkItem.sk.startswith(keys.blob_sk("")),
                                   attributes_to_get=["pk", "sk", "kind"], limit=limit)
        return [keys.strip(keys.blob_sk(""), i.sk) for i in query][:limit]

    def referrer_keys(self, registry: str, repository: str, limit: int) -> list[str]:
        query = ReferrerItem.query(keys.repo_pk(registry, repository), ReferrerItem.sk.startswith("REF#"),
                                   attributes_to_get=["pk", "sk", "kind"], limit=limit)
        return [i.sk for i in query][:limit]

    def delete_referrer_item(self, registry: str, repository: str, sk: str, actor: str) -> None:
        delete_if_exists(ReferrerItem(keys.repo_pk(registry, repository), sk), actor, self._clock.now())

    def force_unlink(self, registry: str, repository: str, digest: str, actor: str) -> None:
        """A link goes whatever its count (its repository is being deleted, manifests first)."""
        link = BlobLinkItem(keys.repo_pk(registry, repository), keys.blob_sk(digest))
        if stamp_deleter(link, actor, self._clock.now()):
            self.remove_link(registry, repository, digest, BlobLinkItem.pk.exists())

    def delete_repository_item(self, registry: str, repository: str, actor: str) -> bool:
        return delete_if_exists(RepositoryItem(keys.registry_pk(registry), keys.repository_sk(repository)),
                                actor, self._clock.now())

    def registry_blobs(self, registry: str, limit: int) -> list[BlobRecord]:
        query = BlobItem.query(keys.registry_pk(registry), BlobItem.sk.startswith(keys.blob_sk("")), limit=limit)
        return [BlobRecord(keys.strip(keys.blob_sk(""), i.sk), int(i.size), i.key) for i in query][:limit]

    def delete_registry_blob(self, registry: str, digest: str, actor: str) -> None:
        delete_if_exists(BlobItem(keys.registry_pk(registry), keys.blob_sk(digest)), actor, self._clock.now())

    def delete_registry_item(self, registry: str, actor: str) -> None:
        delete_if_exists(RegistryBytesItem(keys.registry_pk(registry), keys.REGISTRY_BYTES_SK))
        delete_if_exists(RegistryItem(keys.REGISTRIES_PK, keys.registry_sk(registry)), actor, self._clock.now())


def _record(item: DeletionItem) -> DeletionRecord:
    return DeletionRecord(item.registry, item.repository, item.requested_at, item.requested_by,
                          dict(item.removed or {}))
