"""Artifacts the registry itself attaches to an image as referrers (a scan's SBOM and
report): pushed like any artifact, with the image as `subject`, replacing the one of the
same type attached before."""
from __future__ import annotations

import hashlib
import json

from chalicelib.clock import Clock
from chalicelib.oci import OCI_EMPTY, OCI_MANIFEST, Digest, RepoName

GENERATED_BY = "io.moorage.generated-by"


class Attacher:
    def __init__(self, metadata, uploads, manifests, clock: Clock, actor: str = "system:scanner"):
        self._meta = metadata
        self._uploads = uploads
        self._manifests = manifests
        self._clock = clock
        self._actor = actor

    def attach(self, name: RepoName, subject: str, artifact_type: str, media_type: str, data: bytes) -> str | None:
        """Push the artifact; returns its digest (None when the subject is gone)."""
        target = self._meta.get_manifest(name.registry, name.repository, subject)
        if target is None:
            return None
        config, layer = self._blob(name, b"{}"), self._blob(name, data)
        raw = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
            "config": {"mediaType": OCI_EMPTY, "digest": config, "size": 2},
            "layers": [{"mediaType": media_type, "digest": layer, "size": len(data)}],
            "subject": {"mediaType": target.media_type, "digest": subject, "size": target.size},
            "annotations": {"org.opencontainers.image.created": self._clock.now().isoformat(),
                            GENERATED_BY: self._actor},
        }, separators=(",", ":")).encode()
        digest = self._manifests.put(name, _digest(raw), OCI_MANIFEST, raw, self._actor).digest
        for older in self._meta.list_referrers(name.registry, name.repository, subject):
            if older.artifact_type == artifact_type and older.annotations.get(GENERATED_BY) == self._actor \
                    and older.digest != digest:
                self._manifests.delete_manifest(name, older.digest, self._actor)
        return digest

    def _blob(self, name: RepoName, data: bytes) -> str:
        digest = _digest(data)
        session = self._uploads.start(name, self._actor)
        self._uploads.finish(name, session.id, digest, data, self._actor)
        return str(digest)


def _digest(data: bytes) -> Digest:
    return Digest.parse("sha256:" + hashlib.sha256(data).hexdigest())
