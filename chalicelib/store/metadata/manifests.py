"""Manifests, tags and referrers of a repository (REPO#<r>/<repo> / MAN#, TAG#, REF#)."""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from .. import keys
from ..dynamo import TRANSACT_MAX, cancelled_by_condition, condition_failed, delete_if_exists, get_item, stamp_deleter
from ..models import BlobLinkItem, ManifestFields, ManifestItem, ReferrerItem, RepositoryItem, TableItem, TagItem
from ..ports import BlobsMissing, ManifestExists, ManifestRecord, ReferrerRecord, TagImmutable, TagRecord


class ManifestItems:
    def get_manifest(self, registry: str, repository: str, digest: str, consistent: bool = False
                     ) -> ManifestRecord | None:
        item = get_item(ManifestItem, keys.repo_pk(registry, repository), keys.manifest_sk(digest), consistent)
        return item and _manifest_record(item.manifest, item)

    def missing_manifests(self, registry: str, repository: str, digests: Sequence[str]) -> list[str]:
        return self._missing(ManifestItem, keys.repo_pk(registry, repository), keys.manifest_sk, digests)

    def get_tag(self, registry: str, repository: str, tag: str) -> TagRecord | None:
        item = get_item(TagItem, keys.repo_pk(registry, repository), keys.tag_sk(tag))
        return item and _tag_record(item)

    def put_manifest(self, registry: str, repository: str, manifest: ManifestRecord, tag: str | None,
                     referrer: ReferrerRecord | None, now: datetime, actor: str, blobs: Sequence[str] = (),
                     first: bool = True, immutable_tag: bool = False) -> None:
        """Record a manifest (and its tag, and its referrer entry) in one transaction.

        first: the manifest is new in the repository; the links of `blobs` count one more
        reference each (they must exist: BlobsMissing otherwise). Not first: a re-push, which
        only requires the manifest item to still hold `manifest.key`. ManifestExists when the
        item is not as expected; TagImmutable when `immutable_tag` and the tag points elsewhere.
        """
        pk = keys.repo_pk(registry, repository)
        fields = _manifest_fields(manifest)
        blobs = list(dict.fromkeys(blobs)) if first else []
        room = TRANSACT_MAX - 3 - (tag is not None) - (referrer is not None)
        extra = blobs[room:]  # beyond one transaction: counted first, given back on failure
        self._add_refs(registry, repository, extra, 1)
        try:
            with TransactWrite(connection=self._connection) as tx:
                if first:
                    tx.save(ManifestItem(pk, keys.manifest_sk(manifest.digest), manifest=fields,
                                         updated_by=actor, updated_at=now), condition=ManifestItem.pk.does_not_exist())
                else:
                    tx.condition_check(ManifestItem, pk, keys.manifest_sk(manifest.digest),
                                       condition=_holds_key(manifest.key))
                if tag is not None:
                    condition = (TagItem.pk.does_not_exist() | (TagItem.manifest.digest == manifest.digest)
                                 ) if immutable_tag else None
                    tx.save(TagItem(pk, keys.tag_sk(tag), manifest=fields, updated_by=actor, updated_at=now),
                            condition=condition)
                if referrer is not None:
                    tx.save(_referrer_item(pk, manifest.subject or "", referrer, actor, now))
                tx.update(RepositoryItem(keys.registry_pk(registry), keys.repository_sk(repository)), actions=[
                    RepositoryItem.kind.set(RepositoryItem),
                    RepositoryItem.created_at.set(RepositoryItem.created_at | now),
                    RepositoryItem.last_push.set(now),
                    RepositoryItem.updated_by.set(actor),
                    RepositoryItem.updated_at.set(now),
                ])
                for digest in blobs[:room]:
                    tx.update(BlobLinkItem(pk, keys.blob_sk(digest)), actions=[BlobLinkItem.refs.add(1)],
                              condition=BlobLinkItem.pk.exists())
        except TransactWriteError as error:
            self._add_refs(registry, repository, extra, -1)
            if not cancelled_by_condition(error):
                raise
            self._explain_refused_push(registry, repository, manifest, tag, immutable_tag, blobs)
            raise ManifestExists(manifest.digest) from error

    def delete_manifest(self, registry: str, repository: str, record: ManifestRecord, actor: str,
                        blobs: Sequence[str] = ()) -> bool:
        """Delete a manifest, every tag pointing at it and its referrer entry; the links of
        `blobs` count one reference less. False when it was not there (any more)."""
        pk = keys.repo_pk(registry, repository)
        for tag in self.tags_of(registry, repository, record.digest):
            delete_if_exists(TagItem(pk, keys.tag_sk(tag)), actor, self._clock.now())
        item = ManifestItem(pk, keys.manifest_sk(record.digest))
        if not stamp_deleter(item, actor, self._clock.now()):
            return False
        doomed: list[TableItem] = []
        if record.subject:
            doomed.append(ReferrerItem(pk, keys.referrer_sk(record.subject, record.digest)))
        for doomed_item in doomed:
            stamp_deleter(doomed_item, actor, self._clock.now())
        blobs = list(dict.fromkeys(blobs))
        room = TRANSACT_MAX - 1 - len(doomed)
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.delete(item, condition=_holds_key(record.key))
                for doomed_item in doomed:
                    tx.delete(doomed_item)
                for digest in blobs[:room]:
                    tx.update(BlobLinkItem(pk, keys.blob_sk(digest)), actions=[BlobLinkItem.refs.add(-1)],
                              condition=BlobLinkItem.pk.exists())
        except TransactWriteError as error:
            if not cancelled_by_condition(error):
                raise
            if self.get_manifest(registry, repository, record.digest, consistent=True) is None:
                return False
            # A link that is gone (legacy data) cannot count down: delete without it.
            present = [d for d in blobs if d not in self.missing_blobs(registry, repository, blobs)]
            if present == blobs:
                raise
            return self.delete_manifest(registry, repository, record, actor, present)
        self._add_refs(registry, repository, blobs[room:], -1)  # after: a crash leaks, never loses
        return True

    def delete_tag(self, registry: str, repository: str, tag: str, actor: str = "system") -> bool:
        return delete_if_exists(TagItem(keys.repo_pk(registry, repository), keys.tag_sk(tag)), actor,
                                self._clock.now())

    def tags_of(self, registry: str, repository: str, digest: str) -> list[str]:
        return [t.name for t in self.list_tag_records(registry, repository) if t.manifest.digest == digest]

    def list_tags(self, registry: str, repository: str, after: str | None, limit: int | None) -> list[str]:
        prefix = keys.tag_sk("")
        condition = TagItem.sk > keys.tag_sk(after) if after else TagItem.sk.startswith(prefix)
        query = TagItem.query(keys.repo_pk(registry, repository), condition,
                              attributes_to_get=["pk", "sk", "kind"], limit=limit)
        names = []
        for item in query:
            if not item.sk.startswith(prefix):
                break  # past the tags (SK order: BLOB# < MAN# < REF# < TAG#)
            names.append(keys.strip(prefix, item.sk))
            if limit is not None and len(names) >= limit:
                break
        return names

    def list_tag_records(self, registry: str, repository: str) -> list[TagRecord]:
        return [_tag_record(i) for i in TagItem.query(keys.repo_pk(registry, repository),
                                                      TagItem.sk.startswith(keys.tag_sk("")))]

    def list_manifest_records(self, registry: str, repository: str) -> list[ManifestRecord]:
        return [_manifest_record(i.manifest, i) for i in ManifestItem.query(
            keys.repo_pk(registry, repository), ManifestItem.sk.startswith(keys.manifest_sk("")))]

    def list_referrers(self, registry: str, repository: str, subject: str) -> list[ReferrerRecord]:
        query = ReferrerItem.query(keys.repo_pk(registry, repository),
                                   ReferrerItem.sk.startswith(keys.referrer_prefix(subject)))
        return [ReferrerRecord(i.digest, i.media_type, int(i.size), i.artifact_type,
                               dict(i.annotations.as_dict()) if i.annotations else {}) for i in query]

    def set_scan_summary(self, registry: str, repository: str, digest: str, summary: str) -> bool:
        try:
            ManifestItem(keys.repo_pk(registry, repository), keys.manifest_sk(digest)).update(
                actions=[ManifestItem.scan.set(summary)], condition=ManifestItem.pk.exists())
            return True
        except UpdateError as error:
            if condition_failed(error):
                return False
            raise

    # ---- internals --------------------------------------------------------------------

    def _add_refs(self, registry: str, repository: str, digests: Sequence[str], delta: int) -> None:
        for digest in digests:
            try:
                BlobLinkItem(keys.repo_pk(registry, repository), keys.blob_sk(digest)).update(
                    actions=[BlobLinkItem.refs.add(delta)], condition=BlobLinkItem.pk.exists())
            except UpdateError as error:
                if not condition_failed(error):
                    raise
                if delta > 0:
                    self._add_refs(registry, repository, digests[:list(digests).index(digest)], -delta)
                    raise BlobsMissing([digest]) from error

    def _explain_refused_push(self, registry: str, repository: str, manifest: ManifestRecord,
                              tag: str | None, immutable_tag: bool, blobs: list[str]) -> None:
        if immutable_tag and tag is not None:
            current = self.get_tag(registry, repository, tag)
            if current is not None and current.manifest.digest != manifest.digest:
                raise TagImmutable(tag)
        missing = self.missing_blobs(registry, repository, blobs)
        if missing:
            raise BlobsMissing(missing)


def _holds_key(key: str | None):
    condition = ManifestItem.pk.exists()
    return condition & (ManifestItem.manifest.key == key if key else ManifestItem.manifest.key.does_not_exist())


def _manifest_fields(m: ManifestRecord) -> ManifestFields:
    return ManifestFields(digest=m.digest, media_type=m.media_type, size=m.size,
                          artifact_type=m.artifact_type, subject=m.subject, inline=m.inline,
                          created_at=m.created_at, references=list(m.references) or None, key=m.key,
                          pushed_by=m.pushed_by)


def _manifest_record(f: ManifestFields, item: ManifestItem | None = None) -> ManifestRecord:
    return ManifestRecord(digest=f.digest, media_type=f.media_type, size=int(f.size),
                          artifact_type=f.artifact_type, subject=f.subject,
                          inline=bytes(f.inline) if f.inline is not None else None,
                          created_at=f.created_at, references=tuple(f.references or ()), key=f.key,
                          pushed_by=f.pushed_by, last_pull=item.last_pull if item is not None else None,
                          scan=item.scan if item is not None else None)


def _tag_record(item: TagItem) -> TagRecord:
    return TagRecord(keys.strip(keys.tag_sk(""), item.sk), _manifest_record(item.manifest), item.updated_at,
                     item.updated_by)


def _referrer_item(pk: str, subject: str, r: ReferrerRecord, actor: str, now: datetime) -> ReferrerItem:
    return ReferrerItem(pk, keys.referrer_sk(subject, r.digest), digest=r.digest, media_type=r.media_type,
                        size=r.size, artifact_type=r.artifact_type, annotations=r.annotations or None,
                        updated_by=actor, updated_at=now)
