"""Manifests: validate against the repository's content, store, serve, delete."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.clock import Clock
from chalicelib.oci import (
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
from chalicelib.store.ports import ManifestRecord, ReferrerRecord


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
        self._objects.put(keys.manifest_key(name.registry, digest), raw)
        now = self._clock.now()
        subject = str(manifest.subject.digest) if manifest.subject else None
        record = ManifestRecord(
            digest=digest, media_type=manifest.media_type, size=len(raw), artifact_type=manifest.artifact_type,
            subject=subject, inline=raw if len(raw) <= self._settings.inline_manifest_max else None,
            created_at=now, references=references)
        referrer = None
        if subject:
            referrer = ReferrerRecord(digest, manifest.media_type, len(raw), manifest.artifact_type,
                                      dict(manifest.annotations))
        guard = references if isinstance(manifest, ImageManifest) else ()
        tag = str(reference) if isinstance(reference, Tag) else None
        self._meta.put_manifest(name.registry, name.repository, record, tag, referrer, now, actor,
                                guard_blobs=guard)
        return PutResult(digest, subject)

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

    def content(self, name: RepoName, record: ManifestRecord) -> bytes:
        if record.inline is not None:
            return record.inline
        raw = self._objects.get(keys.manifest_key(name.registry, record.digest))
        if raw is None:
            raise OciError(Code.MANIFEST_UNKNOWN, detail={"digest": record.digest})
        return raw

    def delete(self, name: RepoName, reference: Tag | Digest, actor: str = "system") -> None:
        if isinstance(reference, Tag):
            deleted = self._meta.delete_tag(name.registry, name.repository, str(reference), actor)
        else:
            deleted = self._meta.delete_manifest(name.registry, name.repository, str(reference), actor)
        if not deleted:
            raise OciError(Code.MANIFEST_UNKNOWN, detail={"name": str(name), "reference": str(reference)})
