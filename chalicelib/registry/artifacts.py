"""Repositories, tags and artifacts as the management API shows them: read-only views built
from the stored records and the manifests' own bytes."""
from __future__ import annotations

import json
from datetime import datetime

from chalicelib.oci import ImageIndex, ImageManifest, OciError, RepoName, parse_manifest
from chalicelib.store.ports import ManifestRecord, RepositoryRecord, TagRecord

from .errors import NotFound
from .policy import ContentPolicy

_CONFIG_READ_MAX = 1 << 20  # an image config larger than this is not read for its `created`


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class ArtifactViews:
    def __init__(self, metadata, manifests, objects, registries):
        self._meta = metadata
        self._manifests = manifests
        self._objects = objects
        self._registries = registries

    # ---- repositories -----------------------------------------------------------------

    def repository(self, name: RepoName, detail: bool = False) -> dict:
        record = self._meta.get_repository(name.registry, name.repository)
        if record is None:
            raise NotFound(f"repository '{name}' does not exist")
        view = repository_json(record)
        if detail:
            manifests = self._meta.list_manifest_records(name.registry, name.repository)
            view.update(tag_count=len(self._meta.list_tag_records(name.registry, name.repository)),
                        artifact_count=len(manifests),
                        size_bytes=self._meta.linked_bytes(name.registry, name.repository)
                        + sum(m.size for m in manifests))
            deletion = self._meta.get_deletion(name.registry, name.repository)
            view["status"] = "deleting" if deletion else "active"
        return view

    # ---- tags and artifacts -----------------------------------------------------------

    def tags(self, name: RepoName) -> list[dict]:
        policy = self._registries.content_policy(name.registry, name.repository)
        return [tag_json(t, policy) for t in self._require(name, self._meta.list_tag_records)]

    def artifacts(self, name: RepoName) -> list[dict]:
        tags_of = self._tags_by_digest(name)
        return [self._artifact(name, record, tags_of.get(record.digest, []), detail=False)
                for record in self._require(name, self._meta.list_manifest_records)]

    def artifact(self, name: RepoName, reference: str) -> dict:
        record = self.resolve(name, reference)
        return self._artifact(name, record, self._tags_by_digest(name).get(record.digest, []), detail=True)

    def resolve(self, name: RepoName, reference: str) -> ManifestRecord:
        if ":" in reference:
            record = self._meta.get_manifest(name.registry, name.repository, reference)
        else:
            tag = self._meta.get_tag(name.registry, name.repository, reference)
            record = tag and self._meta.get_manifest(name.registry, name.repository, tag.manifest.digest)
        if record is None:
            raise NotFound(f"no artifact '{reference[:80]}' in repository '{name}'")
        return record

    def _require(self, name: RepoName, lister):
        if not self._meta.repository_exists(name.registry, name.repository):
            raise NotFound(f"repository '{name}' does not exist")
        return lister(name.registry, name.repository)

    def _tags_by_digest(self, name: RepoName) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for tag in self._meta.list_tag_records(name.registry, name.repository):
            found.setdefault(tag.manifest.digest, []).append(tag.name)
        return found

    def _artifact(self, name: RepoName, record: ManifestRecord, tags: list[str], detail: bool) -> dict:
        view = {"digest": record.digest, "media_type": record.media_type, "artifact_type": record.artifact_type,
                "tags": sorted(tags), "pushed_at": _time(record.created_at), "pushed_by": record.pushed_by,
                "last_pull": _time(record.last_pull), "subject": record.subject,
                "scan": json.loads(record.scan) if record.scan else None}
        parsed = self._parse(name, record)
        if isinstance(parsed, ImageIndex):
            view["size"] = record.size + sum(d.size for d in parsed.manifests)
            view["platforms"] = [d.platform.to_json() for d in parsed.manifests if d.platform]
            if detail:
                view["manifests"] = [d.to_json() for d in parsed.manifests]
        elif isinstance(parsed, ImageManifest):
            view["size"] = record.size + parsed.config.size + sum(d.size for d in parsed.layers)
            if detail:
                view["config"] = parsed.config.to_json()
                view["layers"] = [d.to_json() for d in parsed.layers]
                view["created"] = self._created(name, parsed)
        else:
            view["size"] = record.size
        if detail:
            view["referrers"] = [{"digest": r.digest, "media_type": r.media_type, "artifact_type": r.artifact_type,
                                  "size": r.size, "annotations": r.annotations}
                                 for r in self._meta.list_referrers(name.registry, name.repository, record.digest)]
        return view

    def _parse(self, name: RepoName, record: ManifestRecord) -> ImageManifest | ImageIndex | None:
        try:
            return parse_manifest(record.media_type, self._manifests.content(name, record))
        except OciError:
            return None  # stored before a stricter check, or its bytes are gone: shown without detail

    def _created(self, name: RepoName, manifest: ImageManifest) -> str | None:
        """The image's `created` time from its config (artifacts have none)."""
        if manifest.config.size > _CONFIG_READ_MAX or not manifest.config.media_type.endswith("json"):
            return None
        blob = self._meta.get_blob(name.registry, name.repository, str(manifest.config.digest))
        raw = self._objects.get(blob.key) if blob else None
        try:
            created = json.loads(raw or b"{}").get("created")
        except (ValueError, AttributeError, RecursionError):  # not JSON, not an object, nested too deeply
            return None
        return created if isinstance(created, str) else None


def repository_json(record: RepositoryRecord) -> dict:
    return {"registry": record.registry, "name": record.name, "full_name": f"{record.registry}/{record.name}",
            "description": record.description, "created_at": _time(record.created_at),
            "last_push": _time(record.last_push), "last_pull": _time(record.last_pull),
            "policy": json.loads(record.policy) if record.policy else {}, "revision": record.revision}


def tag_json(tag: TagRecord, policy: ContentPolicy) -> dict:
    return {"name": tag.name, "digest": tag.manifest.digest, "media_type": tag.manifest.media_type,
            "artifact_type": tag.manifest.artifact_type, "pushed_at": _time(tag.updated_at),
            "pushed_by": tag.updated_by, "immutable": policy.is_immutable(tag.name) is not None}
