"""Pushing content through the services (no HTTP), for service tests against moto."""
from __future__ import annotations

import hashlib
import json

from chalicelib.oci import OCI_INDEX, OCI_MANIFEST, Digest, RepoName, Tag


def digest_of(data: bytes) -> Digest:
    return Digest.parse("sha256:" + hashlib.sha256(data).hexdigest())


def push_blob(services, name: RepoName, data: bytes, actor: str = "t") -> dict:
    session = services.uploads.start(name, actor)
    services.uploads.finish(name, session.id, digest_of(data), data, actor)
    return {"mediaType": "application/octet-stream", "digest": str(digest_of(data)), "size": len(data)}


def manifest_bytes(config: dict, layers: list[dict], **extra) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {**config, "mediaType": "application/vnd.oci.image.config.v1+json"},
                       "layers": layers, **extra}).encode()


def push_image(services, name: RepoName, tag: str | None, *layers: bytes, config: bytes = b"{}",
               actor: str = "t", **extra) -> str:
    """Blobs, then the manifest (by tag, or by digest when tag is None); returns its digest."""
    raw = manifest_bytes(push_blob(services, name, config, actor),
                         [push_blob(services, name, layer, actor) for layer in layers], **extra)
    reference = Tag.parse(tag) if tag else digest_of(raw)
    return services.manifests.put(name, reference, OCI_MANIFEST, raw, actor).digest


def push_index(services, name: RepoName, tag: str, children: list[str]) -> str:
    entries = []
    for child in children:
        record = services.manifests.resolve(name, Digest.parse(child), [])
        entries.append({"mediaType": record.media_type, "digest": child, "size": record.size,
                        "platform": {"architecture": f"arch{len(entries)}", "os": "linux"}})
    raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    return services.manifests.put(name, Tag.parse(tag), OCI_INDEX, raw, "t").digest
