"""Manifests: validate against the repository's content, store, serve, delete."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from chalicelib.clock import Clock
from chalicelib.oci import (
    INDEX_TYPES,
    Code,
    Digest,
    ImageIndex,
    ImageManifest,
    OciError,
    RepoName,
    Tag,
    accepts,
    parse_manifest,
)
from chalicelib.store import keys
from chalicelib.store.ports import BlobsMissing, ManifestExists, ManifestRecord, ReferrerRecord, TagImmutable

from . import gc

_ATTEMPTS = 5  # a push retries while racing another push of the same manifest


@dataclass(frozen=True)
class PutResult:
    digest: str
    subject: str | None


class ManifestService:
    def __init__(self, metadata, objects, registries, clock: Clock, settings):
        self._meta = metadata
        self._objects = objects
        self._registries = registries
        self._clock = clock
        self._settings = settings

    def put(self, name: RepoName, reference: Tag | Digest, content_type: str | None, raw: bytes,
            actor: str) -> PutResult:
        self._registries.require(name.registry)
        manifest = parse_manifest(content_type, raw)
        if isinstance(reference, Digest) and reference != manifest.digest:
            raise OciError(Code.DIGEST_INVALID, detail={"expected": str(reference), "actual": str(manifest.digest)},
                           message="manifest digest does not match the reference it was pushed to")
        references = self._check_references(name, manifest)
        digest = str(manifest.digest)
        tag = str(reference) if isinstance(reference, Tag) else None
        immutable = tag is not None and self._immutable_rule(name, tag) is not None
        subject = str(manifest.subject.digest) if manifest.subject else None
        referrer = ReferrerRecord(digest, manifest.media_type, len(raw), manifest.artifact_type,
                                  dict(manifest.annotations)) if subject else None
        blobs = references if isinstance(manifest, ImageManifest) else ()
        for _ in range(_ATTEMPTS):
            existing = self._meta.get_manifest(name.registry, name.repository, digest, consistent=True)
            key = existing.key if existing else self._write_bytes(name, digest, raw)
            now = self._clock.now()
            record = ManifestRecord(
                digest=digest, media_type=manifest.media_type, size=len(raw), artifact_type=manifest.artifact_type,
                subject=subject, inline=raw if len(raw) <= self._settings.inline_manifest_max else None,
                created_at=existing.created_at if existing else now, references=references, key=key,
                pushed_by=existing.pushed_by if existing else actor)
            try:
                self._meta.put_manifest(name.registry, name.repository, record, tag, referrer, now, actor,
                                        blobs=blobs, first=existing is None, immutable_tag=immutable)
                return PutResult(digest, subject)
            except ManifestExists:
                continue  # another push of the same manifest won, or a delete: read again
            except TagImmutable as error:
                raise self._immutable_error(name, error.tag) from None
            except BlobsMissing as error:
                raise OciError(Code.MANIFEST_BLOB_UNKNOWN, detail={"digest": error.digests[0]},
                               message=f"blob {error.digests[0]} is not in repository {name}; push it first"
                               ) from None
        raise OciError(Code.UNAVAILABLE, message="the manifest changed too often while pushing; try again")

    def _write_bytes(self, name: RepoName, digest: str, raw: bytes) -> str:
        """Bytes of a first push go to a key of their own; marked first, so that if the push
        never completes (or the manifest is deleted later) GC removes them."""
        key = keys.manifest_object_key(name.registry, uuid.uuid4().hex)
        gc.mark(self._meta, self._clock, self._settings.gc_grace_s,
                [gc.manifest_object_mark(name.registry, name.repository, digest, key)])
        self._objects.put(key, raw)
        return key

    def _check_references(self, name: RepoName, manifest: ImageManifest | ImageIndex) -> tuple[str, ...]:
        if isinstance(manifest, ImageManifest):
            wanted = tuple(dict.fromkeys(str(d.digest) for d in manifest.required_blobs()))
            missing = self._meta.missing_blobs(name.registry, name.repository, wanted)
            if missing:
                raise OciError(Code.MANIFEST_BLOB_UNKNOWN, detail={"digest": missing[0]},
                               message=f"blob {missing[0]} is not in repository {name}; push it first")
            return wanted
        wanted = tuple(dict.fromkeys(str(d.digest) for d in manifest.manifests))
        missing = self._meta.missing_manifests(name.registry, name.repository, wanted)
        if missing:
            raise OciError(Code.MANIFEST_UNKNOWN, detail={"digest": missing[0]},
                           message=f"index refers to manifest {missing[0]}, which is not in repository {name}")
        return wanted

    def resolve(self, name: RepoName, reference: Tag | Digest, accept: list[str]) -> ManifestRecord:
        if isinstance(reference, Tag):
            tag = self._meta.get_tag(name.registry, name.repository, str(reference))
            record = tag.manifest if tag else None
        else:
            record = self._meta.get_manifest(name.registry, name.repository, str(reference))
        if record is None:
            raise OciError(Code.MANIFEST_UNKNOWN, detail={"name": str(name), "reference": str(reference)})
        if not accepts(accept, record.media_type):
            raise OciError(Code.MANIFEST_UNKNOWN, detail={"media_type": record.media_type},
                           message=f"manifest is {record.media_type}, which the Accept header does not allow")
        return record

    def check_pull(self, name: RepoName, record: ManifestRecord) -> None:
        """Refuse the pull when the content policy blocks this image's vulnerabilities."""
        policy = self._registries.content_policy(name.registry, name.repository)
        if policy.block_pull is None:
            return  # the common case costs no read
        scan = record.scan
        if scan is None:  # a tag's copy of the record carries no scan: the manifest item does
            stored = self._meta.get_manifest(name.registry, name.repository, record.digest)
            scan = stored.scan if stored else None
        refusal = policy.pull_refusal(str(name), record.digest, scan, self._clock.now())
        if refusal:
            raise OciError(Code.DENIED, detail={"digest": record.digest, "policy": "block_pull"}, message=refusal)

    def content(self, name: RepoName, record: ManifestRecord) -> bytes:
        if record.inline is not None:
            return record.inline
        raw = self._objects.get(record.key or keys.manifest_key(name.registry, record.digest))
        if raw is None:
            raise OciError(Code.MANIFEST_UNKNOWN, detail={"digest": record.digest})
        return raw

    def delete(self, name: RepoName, reference: Tag | Digest, actor: str = "system") -> None:
        if isinstance(reference, Tag):
            self.delete_tag(name, str(reference), actor)
        else:
            self.delete_manifest(name, str(reference), actor)

    def delete_tag(self, name: RepoName, tag: str, actor: str) -> None:
        if self._meta.get_tag(name.registry, name.repository, tag) is None:
            raise OciError(Code.MANIFEST_UNKNOWN, detail={"name": str(name), "reference": tag})
        if self._immutable_rule(name, tag):
            raise self._immutable_error(name, tag)
        if not self._meta.delete_tag(name.registry, name.repository, tag, actor):
            raise OciError(Code.MANIFEST_UNKNOWN, detail={"name": str(name), "reference": tag})

    def delete_manifest(self, name: RepoName, digest: str, actor: str, force: bool = False) -> ManifestRecord:
        """Delete a manifest and its tags (`force`: immutable tags too, for repository deletion)."""
        record = self._meta.get_manifest(name.registry, name.repository, digest, consistent=True)
        if record is None:
            raise OciError(Code.MANIFEST_UNKNOWN, detail={"name": str(name), "reference": digest})
        if not force:
            for tag in self._meta.tags_of(name.registry, name.repository, digest):
                if self._immutable_rule(name, tag):
                    raise self._immutable_error(name, tag)
        blobs = () if record.media_type in INDEX_TYPES else record.references
        marks = [gc.link_mark(name.registry, name.repository, d) for d in blobs]
        if record.key:
            marks.append(gc.manifest_object_mark(name.registry, name.repository, digest, record.key))
        gc.mark(self._meta, self._clock, self._settings.gc_grace_s, marks)
        if not self._meta.delete_manifest(name.registry, name.repository, record, actor, blobs):
            raise OciError(Code.MANIFEST_UNKNOWN, detail={"name": str(name), "reference": digest})
        return record

    def _immutable_rule(self, name: RepoName, tag: str) -> str | None:
        return self._registries.content_policy(name.registry, name.repository).is_immutable(tag)

    def _immutable_error(self, name: RepoName, tag: str) -> OciError:
        rule = self._immutable_rule(name, tag) or "an immutable_tags pattern"
        return OciError(Code.DENIED, detail={"tag": tag, "rule": rule},
                        message=f"tag '{tag}' of {name} is immutable (policy immutable_tags: {rule!r}); "
                                "it cannot be overwritten or deleted, push a new tag instead")
