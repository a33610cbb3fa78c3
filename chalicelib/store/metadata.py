"""DynamoDB adapter (PynamoDB): implements RegistryCatalog, BlobIndex, ManifestIndex and
UploadSessions. Every write is conditional or transactional; models never leave here."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Sequence

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from . import keys
from .models import (
    BlobItem,
    BlobLinkItem,
    ManifestFields,
    ManifestItem,
    ReferrerItem,
    RegistryItem,
    RepositoryItem,
    SweepItem,
    TableItem,
    TagItem,
    UploadItem,
)
from .ports import (
    BlobRecord,
    ManifestRecord,
    ReferrerRecord,
    RegistryExists,
    RegistryRecord,
    TagRecord,
    UploadConflict,
    UploadUnknown,
    UploadSession,
)

_BATCH_GET_MAX = 100
_TRANSACT_MAX = 100
# DynamoDB's TTL deletes leftovers only well after the sweep had its chance to clean up S3.
_SWEEP_GRACE_S = 7 * 24 * 3600


def _condition_failed(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def _cancelled_by_condition(error: TransactWriteError) -> bool:
    # Callers put one condition per transaction. (moto reports the reason at the wrong index.)
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in error.cancellation_reasons or [])


class DynamoMetadata:
    def __init__(self, region: str, host: str | None):
        self._connection = Connection(region=region, host=host)

    # ---- registries -------------------------------------------------------------------

    def create_registry(self, name: str, now: datetime, actor: str) -> RegistryRecord:
        item = RegistryItem(keys.REGISTRIES_PK, keys.registry_sk(name), name=name, created_at=now,
                            updated_by=actor, updated_at=now)
        try:
            item.save(condition=RegistryItem.pk.does_not_exist())
        except PutError as error:
            if _condition_failed(error):
                raise RegistryExists(name) from error
            raise
        return RegistryRecord(name=name, created_at=now)

    def get_registry(self, name: str) -> RegistryRecord | None:
        item = _get(RegistryItem, keys.REGISTRIES_PK, keys.registry_sk(name))
        return item and RegistryRecord(item.name, item.created_at, item.description)

    def list_registries(self) -> list[RegistryRecord]:
        return [RegistryRecord(i.name, i.created_at, i.description)
                for i in RegistryItem.query(keys.REGISTRIES_PK, RegistryItem.sk.startswith("REG#"))]

    def list_repositories(self, registry: str) -> list[str]:
        prefix = keys.repository_sk("")
        return [keys.strip(prefix, i.sk) for i in RepositoryItem.query(
            keys.registry_pk(registry), RepositoryItem.sk.startswith(prefix), attributes_to_get=["pk", "sk", "kind"])]

    # ---- blobs ------------------------------------------------------------------------

    def get_blob(self, registry: str, repository: str, digest: str) -> BlobRecord | None:
        item = _get(BlobLinkItem, keys.repo_pk(registry, repository), keys.blob_sk(digest))
        return item and BlobRecord(digest, int(item.size), item.key)

    def get_registry_blob(self, registry: str, digest: str) -> BlobRecord | None:
        item = _get(BlobItem, keys.registry_pk(registry), keys.blob_sk(digest))
        return item and BlobRecord(digest, int(item.size), item.key)

    def missing_blobs(self, registry: str, repository: str, digests: Sequence[str]) -> list[str]:
        return self._missing(BlobLinkItem, keys.repo_pk(registry, repository), keys.blob_sk, digests)

    def link_blob(self, registry: str, repository: str, blob: BlobRecord, actor: str) -> None:
        BlobLinkItem(keys.repo_pk(registry, repository), keys.blob_sk(blob.digest), size=blob.size,
                     key=blob.key, updated_by=actor, updated_at=_now()).save()

    def commit_blob(self, registry: str, repository: str, blob: BlobRecord, upload_id: str,
                    actor: str) -> BlobRecord:
        """Record a verified upload and end its session, atomically. Returns the blob that is
        now stored: ours, or the copy another upload of the same digest committed first.
        Raises UploadUnknown when the session was cancelled or swept meanwhile."""
        now = _now()
        stored = BlobItem(keys.registry_pk(registry), keys.blob_sk(blob.digest), size=blob.size,
                          key=blob.key, updated_by=actor, updated_at=now)
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(stored, condition=BlobItem.pk.does_not_exist())
                tx.save(_link(registry, repository, blob, actor, now))
                tx.delete(_upload_key(upload_id), condition=UploadItem.pk.exists())
            return blob
        except TransactWriteError as error:
            if not _cancelled_by_condition(error):
                raise
        if self.get_upload(upload_id) is None:
            raise UploadUnknown(upload_id)
        existing = self.get_registry_blob(registry, blob.digest)
        if existing is None:  # deleted between the two writes: try again as the first committer
            return self.commit_blob(registry, repository, blob, upload_id, actor)
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(_link(registry, repository, existing, actor, now))
                tx.delete(_upload_key(upload_id), condition=UploadItem.pk.exists())
        except TransactWriteError as error:
            if _cancelled_by_condition(error):
                raise UploadUnknown(upload_id) from error
            raise
        return existing

    def unlink_blob(self, registry: str, repository: str, digest: str, actor: str = "system") -> bool:
        return _delete_if_exists(BlobLinkItem(keys.repo_pk(registry, repository), keys.blob_sk(digest)), actor)

    # ---- manifests and tags -----------------------------------------------------------

    def get_manifest(self, registry: str, repository: str, digest: str) -> ManifestRecord | None:
        item = _get(ManifestItem, keys.repo_pk(registry, repository), keys.manifest_sk(digest))
        return item and _manifest_record(item.manifest)

    def missing_manifests(self, registry: str, repository: str, digests: Sequence[str]) -> list[str]:
        return self._missing(ManifestItem, keys.repo_pk(registry, repository), keys.manifest_sk, digests)

    def get_tag(self, registry: str, repository: str, tag: str) -> TagRecord | None:
        item = _get(TagItem, keys.repo_pk(registry, repository), keys.tag_sk(tag))
        return item and TagRecord(tag, _manifest_record(item.manifest))

    def put_manifest(self, registry: str, repository: str, manifest: ManifestRecord, tag: str | None,
                     referrer: ReferrerRecord | None, now: datetime, actor: str,
                     guard_blobs: Iterable[str] = ()) -> None:
        pk = keys.repo_pk(registry, repository)
        fields = _manifest_fields(manifest)
        repo = RepositoryItem(keys.registry_pk(registry), keys.repository_sk(repository))
        writes = 3 + (tag is not None) + (referrer is not None)
        with TransactWrite(connection=self._connection) as tx:
            tx.save(ManifestItem(pk, keys.manifest_sk(manifest.digest), manifest=fields,
                                 updated_by=actor, updated_at=now))
            if tag is not None:
                tx.save(TagItem(pk, keys.tag_sk(tag), manifest=fields, updated_by=actor, updated_at=now))
            if referrer is not None:
                tx.save(_referrer_item(pk, manifest.subject or "", referrer, actor, now))
            tx.update(repo, actions=[
                RepositoryItem.kind.set(RepositoryItem),
                RepositoryItem.created_at.set(RepositoryItem.created_at | now),
                RepositoryItem.last_push.set(now),
                RepositoryItem.updated_by.set(actor),
                RepositoryItem.updated_at.set(now),
            ])
            # Fail the push rather than record a manifest whose blobs vanished meanwhile.
            for digest in list(guard_blobs)[: _TRANSACT_MAX - writes]:
                tx.condition_check(BlobLinkItem, pk, keys.blob_sk(digest),
                                   condition=BlobLinkItem.pk.exists())

    def delete_manifest(self, registry: str, repository: str, digest: str, actor: str = "system") -> bool:
        pk = keys.repo_pk(registry, repository)
        item = _get(ManifestItem, pk, keys.manifest_sk(digest))
        if item is None:
            return False
        doomed: list[TableItem] = [item]
        doomed += [t for t in TagItem.query(pk, TagItem.sk.startswith(keys.tag_sk("")))
                   if t.manifest.digest == digest]
        if item.manifest.subject:
            doomed.append(ReferrerItem(pk, keys.referrer_sk(item.manifest.subject, digest)))
        for doomed_item in doomed:
            _stamp_deleter(doomed_item, actor)
        for start in range(0, len(doomed), _TRANSACT_MAX):
            with TransactWrite(connection=self._connection) as tx:
                for doomed_item in doomed[start:start + _TRANSACT_MAX]:
                    tx.delete(doomed_item)
        return True

    def delete_tag(self, registry: str, repository: str, tag: str, actor: str = "system") -> bool:
        return _delete_if_exists(TagItem(keys.repo_pk(registry, repository), keys.tag_sk(tag)), actor)

    def list_tags(self, registry: str, repository: str, after: str | None, limit: int | None) -> list[str]:
        prefix = keys.tag_sk("")
        condition = TagItem.sk > keys.tag_sk(after) if after else TagItem.sk.startswith(prefix)
        query = TagItem.query(keys.repo_pk(registry, repository), condition,
                              filter_condition=None, attributes_to_get=["pk", "sk", "kind"], limit=limit)
        names = []
        for item in query:
            if not item.sk.startswith(prefix):
                break  # past the tags (SK order: BLOB# < MAN# < REF# < TAG#)
            names.append(keys.strip(prefix, item.sk))
            if limit is not None and len(names) >= limit:
                break
        return names

    def repository_exists(self, registry: str, repository: str) -> bool:
        return _get(RepositoryItem, keys.registry_pk(registry), keys.repository_sk(repository)) is not None

    def list_referrers(self, registry: str, repository: str, subject: str) -> list[ReferrerRecord]:
        query = ReferrerItem.query(keys.repo_pk(registry, repository),
                                   ReferrerItem.sk.startswith(keys.referrer_prefix(subject)))
        return [ReferrerRecord(i.digest, i.media_type, int(i.size), i.artifact_type,
                               dict(i.annotations.as_dict()) if i.annotations else {}) for i in query]

    # ---- upload sessions --------------------------------------------------------------

    def create_upload(self, session: UploadSession, actor: str) -> None:
        item = _upload_item(session)
        item.updated_by, item.updated_at = actor, _now()
        item.save(condition=UploadItem.pk.does_not_exist())

    def get_upload(self, upload_id: str) -> UploadSession | None:
        pk = keys.upload_pk(upload_id)
        item = pk and _get(UploadItem, pk, upload_id, consistent=True)
        return _upload_session(item) if item else None

    def expired_uploads(self, expiry_hour: int) -> list[UploadSession]:
        """Sessions whose expiry falls in that hour (all shards)."""
        return [_upload_session(item) for shard in keys.UPLOAD_SHARDS
                for item in UploadItem.query(keys.uploads_pk(expiry_hour, shard))]

    def swept_until(self) -> int | None:
        item = _get(SweepItem, keys.SWEEP_PK, "uploads")
        return int(item.hour) if item else None

    def mark_swept(self, hour: int) -> None:
        SweepItem(keys.SWEEP_PK, "uploads", hour=hour, updated_at=_now()).save()

    def advance_upload(self, before: UploadSession, after: UploadSession) -> None:
        """Write the new state only if nobody else moved the session since `before` was read."""
        try:
            _upload_item(after).save(condition=UploadItem.offset == before.offset)
        except PutError as error:
            if _condition_failed(error):
                raise UploadConflict(before.id) from error
            raise

    def delete_upload(self, upload_id: str) -> bool:
        """True when this call ended the session (and so owns cleaning up its bytes)."""
        return keys.upload_pk(upload_id) is not None and _delete_if_exists(_upload_key(upload_id))

    # ---- helpers ----------------------------------------------------------------------

    @staticmethod
    def _missing(model, pk: str, sk_of, digests: Sequence[str]) -> list[str]:
        wanted = list(dict.fromkeys(digests))
        found: set[str] = set()
        for start in range(0, len(wanted), _BATCH_GET_MAX):
            batch = [(pk, sk_of(d)) for d in wanted[start:start + _BATCH_GET_MAX]]
            found.update(item.sk for item in model.batch_get(batch, attributes_to_get=["pk", "sk", "kind"]))
        return [d for d in wanted if sk_of(d) not in found]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _get(model, pk: str, sk: str, consistent: bool = False):
    try:
        return model.get(pk, sk, consistent_read=consistent)
    except model.DoesNotExist:
        return None


def _stamp_deleter(item: TableItem, actor: str) -> bool:
    """Write who is deleting into the item first: a stream REMOVE record carries only the old
    image, and this way its updated_by names the deleter (consumers skip the stamp itself)."""
    model = type(item)
    try:
        model(item.pk, item.sk).update(actions=[model.updated_by.set(actor), model.updated_at.set(_now())],
                                       condition=model.pk.exists())
        return True
    except UpdateError as error:
        if _condition_failed(error):
            return False
        raise


def _delete_if_exists(item: TableItem, actor: str | None = None) -> bool:
    if actor is not None and not _stamp_deleter(item, actor):
        return False
    try:
        item.delete(condition=TableItem.pk.exists())
        return True
    except DeleteError as error:
        if _condition_failed(error):
            return False
        raise


def _upload_key(upload_id: str) -> UploadItem:
    return UploadItem(keys.upload_pk(upload_id), upload_id)


def _link(registry: str, repository: str, blob: BlobRecord, actor: str, now: datetime) -> BlobLinkItem:
    return BlobLinkItem(keys.repo_pk(registry, repository), keys.blob_sk(blob.digest), size=blob.size,
                        key=blob.key, updated_by=actor, updated_at=now)


def _manifest_fields(m: ManifestRecord) -> ManifestFields:
    return ManifestFields(digest=m.digest, media_type=m.media_type, size=m.size,
                          artifact_type=m.artifact_type, subject=m.subject, inline=m.inline,
                          created_at=m.created_at, references=list(m.references) or None)


def _manifest_record(f: ManifestFields) -> ManifestRecord:
    return ManifestRecord(digest=f.digest, media_type=f.media_type, size=int(f.size),
                          artifact_type=f.artifact_type, subject=f.subject,
                          inline=bytes(f.inline) if f.inline is not None else None,
                          created_at=f.created_at, references=tuple(f.references or ()))


def _referrer_item(pk: str, subject: str, r: ReferrerRecord, actor: str, now: datetime) -> ReferrerItem:
    return ReferrerItem(pk, keys.referrer_sk(subject, r.digest), digest=r.digest, media_type=r.media_type,
                        size=r.size, artifact_type=r.artifact_type, annotations=r.annotations or None,
                        updated_by=actor, updated_at=now)


def _upload_item(s: UploadSession) -> UploadItem:
    return UploadItem(keys.upload_pk(s.id), s.id, registry=s.registry, repository=s.repository,
                      key=s.key, offset=s.offset, hash_state=s.hash_state, multipart_id=s.multipart_id,
                      parts=[[n, etag] for n, etag in s.parts], carry_key=s.carry_key, expires_at=s.expires_at,
                      direct=s.direct,
                      ttl=int(s.expires_at.timestamp()) + _SWEEP_GRACE_S)


def _upload_session(item: UploadItem) -> UploadSession:
    return UploadSession(
        id=item.sk, registry=item.registry, repository=item.repository, key=item.key,
        offset=int(item.offset), hash_state=bytes(item.hash_state), multipart_id=item.multipart_id,
        parts=tuple((int(n), str(etag)) for n, etag in (item.parts or [])), carry_key=item.carry_key,
        expires_at=item.expires_at, direct=bool(item.direct))

