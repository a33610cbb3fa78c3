"""Reads that list or locate content: blobs, tags, referrers and the catalog."""
from __future__ import annotations

from chalicelib.clock import Clock
from chalicelib.oci import Code, Digest, OciError, RepoName
from chalicelib.store.ports import BlobInUse, BlobRecord, ReferrerRecord

from . import gc


class ContentService:
    def __init__(self, metadata, objects, settings, clock: Clock):
        self._meta = metadata
        self._objects = objects
        self._settings = settings
        self._clock = clock

    def blob(self, name: RepoName, digest: Digest) -> BlobRecord:
        record = self._meta.get_blob(name.registry, name.repository, str(digest))
        if record is None:
            raise OciError(Code.BLOB_UNKNOWN, detail={"digest": str(digest)})
        return record

    def blob_url(self, record: BlobRecord) -> str:
        return self._objects.presign_get(record.key, self._settings.presign_ttl_s)

    def delete_blob(self, name: RepoName, digest: Digest, actor: str = "system") -> None:
        # Only the link goes; the bytes go with GC once no repository links them.
        gc.mark(self._meta, self._clock, self._settings.gc_grace_s, [gc.blob_mark(name.registry, str(digest))])
        try:
            deleted = self._meta.unlink_blob(name.registry, name.repository, str(digest), actor)
        except BlobInUse as error:
            raise OciError(Code.DENIED, detail={"digest": str(digest), "references": error.refs},
                           message=f"{error}; delete those manifests first") from None
        if not deleted:
            raise OciError(Code.BLOB_UNKNOWN, detail={"digest": str(digest)})

    def tags(self, name: RepoName, last: str | None, limit: int | None) -> list[str]:
        if not self._meta.repository_exists(name.registry, name.repository):
            raise OciError(Code.NAME_UNKNOWN, detail={"name": str(name)})
        return self._meta.list_tags(name.registry, name.repository, last, limit)

    def referrers(self, name: RepoName, subject: Digest) -> list[ReferrerRecord]:
        return self._meta.list_referrers(name.registry, name.repository, str(subject))

    def catalog(self, last: str | None, limit: int | None, visible=None) -> list[str]:
        """Repository names after `last`, at most `limit`, only those `visible(name)` allows."""
        names = sorted(f"{registry.name}/{repo}" for registry in self._meta.list_registries()
                       for repo in self._meta.list_repositories(registry.name))
        if last:
            names = [n for n in names if n > last]
        if visible is not None:
            names = [n for n in names if visible(n)]
        return names[:limit] if limit is not None else names
