"""Scanning an image in the registry: read its layers from storage as streams, match the
inventory against the current vulnerability DB, keep the report and the inventory in
storage, put the summary on the manifest item (which the stream turns into
`scan.completed`, and pull policies read), and attach the SBOM and the report to the image
as OCI referrers.

An index is scanned image by image and reported per platform. A rescan (the DB changed)
matches the stored inventory again instead of reading the layers.

    _scans/<registry>/<digest>/report.json       the full report (scanner.Report JSON)
    _scans/<registry>/<digest>/inventory.json    what the image holds, for rescans
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import tempfile
from dataclasses import dataclass
from typing import Callable, Iterator

from chalicelib.clock import Clock
from chalicelib.oci import (
    DOCKER_CONFIG,
    INDEX_TYPES,
    OCI_CONFIG,
    ImageIndex,
    ImageManifest,
    OciError,
    RepoName,
    parse_manifest,
)
from chalicelib.store.ports import ManifestRecord

from .errors import ScanFailed

# The reading, matching and SBOM code (univers, cvss, cyclonedx) is imported when a scan
# runs, not with this module: the API function builds this service too, for on-demand
# requests and reports, and must start fast.

log = logging.getLogger("moorage.scanner")
SBOM_TYPE = "application/vnd.cyclonedx+json"
REPORT_TYPE = "application/vnd.moorage.scan.report.v1+json"
_CHUNK = 1024 * 1024
_CONFIG_MAX = 4 * 1024 * 1024
_IMAGE_CONFIGS = frozenset({OCI_CONFIG, DOCKER_CONFIG})


class NotAnImage(ValueError):
    """An artifact without layers to scan (a Helm chart, a signature, an SBOM)."""


@dataclass(frozen=True)
class Attachment:
    """An artifact attached to an image as a referrer (what `attach` pushes)."""
    subject: str
    artifact_type: str
    media_type: str
    data: bytes


def report_key(registry: str, digest: str) -> str:
    return f"_scans/{registry}/{digest}/report.json"


def inventory_key(registry: str, digest: str) -> str:
    return f"_scans/{registry}/{digest}/inventory.json"


class ScanService:
    def __init__(self, metadata, objects, clock: Clock, read_manifest: Callable[[RepoName, ManifestRecord], bytes],
                 attach: Callable[[RepoName, Attachment], None], cache_dir: str | None = None):
        self._meta = metadata
        self._objects = objects
        self._clock = clock
        self._read_manifest = read_manifest
        self._attach = attach
        self._cache_dir = cache_dir or f"{tempfile.gettempdir()}/moorage-vulndb"

    # ---- what callers use -------------------------------------------------------------

    def scannable(self, name: RepoName, record: ManifestRecord) -> bool:
        """An index, or an image manifest with an image config (not a chart, an SBOM, a signature)."""
        return record.media_type in INDEX_TYPES or self._image_or_index(name, record) is not None

    def scan(self, name: RepoName, digest: str, rescan: bool = False) -> dict | None:
        """Scan (or rescan) one manifest; returns the summary stored on it, None when the
        manifest is gone or is no image."""
        record = self._meta.get_manifest(name.registry, name.repository, digest, consistent=True)
        manifest = self._image_or_index(name, record) if record is not None else None
        if manifest is None:
            return None
        try:
            with self._vulndb() as db:  # one DB for every image of an index
                report = self._report_of(name, record, manifest, rescan, db)
        except NotAnImage:
            return None
        except ScanFailed as failure:
            summary = {"status": "failed", "reason": str(failure)[:500]}
        else:
            self._objects.put(report_key(name.registry, digest), report.to_json())
            summary = report.summary().to_dict()
        summary.update(completed_at=self._clock.now().isoformat(), rescan=rescan)
        self._meta.set_scan_summary(name.registry, name.repository, digest, json.dumps(summary, sort_keys=True))
        return summary

    def mark_queued(self, name: RepoName, digest: str) -> bool:
        """A requested scan is visible as queued until it completes."""
        record = self._meta.get_manifest(name.registry, name.repository, digest)
        if record is None:
            return False
        if not self.scannable(name, record):
            raise NotAnImage(f"{name}@{digest} is no container image (nothing to scan)")
        previous = json.loads(record.scan) if record.scan else {}
        queued = {**{k: previous[k] for k in ("severity_counts", "vulnerabilities", "truncated") if k in previous},
                  "status": "queued", "requested_at": self._clock.now().isoformat()}
        return self._meta.set_scan_summary(name.registry, name.repository, digest, json.dumps(queued, sort_keys=True))

    def report(self, name: RepoName, digest: str):
        """The stored scanner.Report, or None."""
        from .report import Report

        raw = self._objects.get(report_key(name.registry, digest))
        return Report.from_json(raw) if raw else None

    # ---- scanning ---------------------------------------------------------------------

    def _image_or_index(self, name: RepoName, record: ManifestRecord) -> ImageManifest | ImageIndex | None:
        """The parsed manifest when it is an index or an image manifest with an image config."""
        if record.media_type not in INDEX_TYPES and (record.artifact_type is not None or record.subject is not None):
            return None
        try:
            manifest = parse_manifest(record.media_type, self._read_manifest(name, record))
        except OciError:
            return None
        if isinstance(manifest, ImageIndex) or (
                isinstance(manifest, ImageManifest) and manifest.config.media_type in _IMAGE_CONFIGS):
            return manifest
        return None

    def _report_of(self, name: RepoName, record: ManifestRecord, manifest, rescan: bool, db):
        from . import combine_reports

        if isinstance(manifest, ImageIndex):
            reports = [self._child_report(name, str(d.digest), rescan, db)
                       for d in manifest.manifests if d.media_type not in INDEX_TYPES]
            combined = combine_reports(r for r in reports if r is not None)
            self._attach_all(name, [Attachment(record.digest, REPORT_TYPE, "application/json", combined.to_json())])
            return combined
        report = self._image_report(name, record.digest, rescan, db, manifest)
        if report is None:
            raise NotAnImage(record.digest)
        return report

    def _child_report(self, name: RepoName, digest: str, rescan: bool, db):
        """An index's image: its own report when it was scanned already (its push was
        scanned too), else scanned now."""
        stored = None if rescan else self.report(name, digest)
        return stored or self._image_report(name, digest, rescan, db)

    def _image_report(self, name: RepoName, digest: str, rescan: bool, db, manifest: ImageManifest | None = None):
        from . import build_report, inventory_image, match, platform_of

        if manifest is None:
            record = self._meta.get_manifest(name.registry, name.repository, digest)
            if record is None:
                return None
            parsed = parse_manifest(record.media_type, self._read_manifest(name, record))
            if not isinstance(parsed, ImageManifest):
                return None
            manifest = parsed
        if manifest.config.media_type not in _IMAGE_CONFIGS:
            return None
        config = self._config(name, manifest)
        inventory = self._stored_inventory(name, digest) if rescan else None
        first_scan = inventory is None
        if inventory is None:
            inventory = inventory_image([self._layer(name, d) for d in manifest.layers], config)
            self._objects.put(inventory_key(name.registry, digest), inventory.to_json())
        findings, version = (match(inventory, db), db.version) if db is not None else ([], "")
        report = build_report(inventory, findings, version, platform_of(config))
        self._attach_results(name, digest, inventory, report, with_sbom=first_scan)
        return report

    def _vulndb(self):
        """The current vulnerability DB, or (none published yet) a context of None: packages
        and secrets are still reported."""
        from . import VulnDBError, load

        try:
            return load(self._objects, self._cache_dir)
        except VulnDBError as error:
            log.warning("scanning without vulnerability data: %s", error)
            return contextlib.nullcontext()

    def _stored_inventory(self, name: RepoName, digest: str):
        from . import Inventory

        raw = self._objects.get(inventory_key(name.registry, digest))
        return Inventory.from_json(raw) if raw else None

    def _config(self, name: RepoName, manifest: ImageManifest) -> dict | None:
        if manifest.config.size > _CONFIG_MAX:
            raise ScanFailed(f"image config of {manifest.config.size} bytes is larger than {_CONFIG_MAX}")
        blob = self._meta.get_blob(name.registry, name.repository, str(manifest.config.digest))
        raw = self._objects.get(blob.key) if blob else None
        if raw is None:
            raise ScanFailed(f"image config {manifest.config.digest} is not in the repository")
        try:
            config = json.loads(raw)
        except ValueError:
            raise ScanFailed("image config is not JSON") from None
        return config if isinstance(config, dict) else None

    def _layer(self, name: RepoName, descriptor):
        from . import LayerSource

        blob = self._meta.get_blob(name.registry, name.repository, str(descriptor.digest))
        if blob is None:
            raise ScanFailed(f"layer {descriptor.digest} is not in the repository (a foreign layer?)")
        return LayerSource(str(descriptor.digest), descriptor.media_type,
                           lambda: ChunkReader(self._objects.read_chunks(blob.key, _CHUNK)))

    def _attach_results(self, name: RepoName, digest: str, inventory, report, with_sbom: bool) -> None:
        """Referrers of the image: its SBOM (once; the inventory does not change) and its
        vulnerability report. Not attaching (a full quota, say) does not fail the scan."""
        attachments = [Attachment(digest, REPORT_TYPE, "application/json", report.to_json())]
        if with_sbom:
            from . import sbom
            attachments.insert(0, Attachment(digest, SBOM_TYPE, SBOM_TYPE, sbom(inventory, str(name), digest)))
        self._attach_all(name, attachments)

    def _attach_all(self, name: RepoName, attachments: list[Attachment]) -> None:
        for attachment in attachments:
            try:
                self._attach(name, attachment)
            except OciError as error:
                log.warning("could not attach %s to %s@%s: %s", attachment.artifact_type, name, attachment.subject,
                            error)


class ChunkReader(io.RawIOBase):
    """A file-like view of an iterator of byte chunks (an S3 streaming body)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")  # a view: taking a piece copies nothing

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size
