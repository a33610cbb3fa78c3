"""Online garbage collection.

Whatever may become garbage is *marked* before the change that may make it so: a blob link
when it is created (no manifest may ever use it) or when a manifest using it is deleted, a
registry blob when a link to it goes, manifest bytes when they are written or deleted. A
mark falls due one grace period later; a run reads only the marks that fell due since the
last run (cost grows with what changed, never with the bucket), and removes a thing only
with a conditional delete that checks, atomically, that it is still unused and untouched
for the grace period:

* a link goes when no manifest of its repository references it (`refs` = 0);
* a registry blob goes when no repository links it (`links` = 0); then its S3 object;
* manifest bytes go when the manifest item no longer points at that key.

Pushes and pulls go on meanwhile. An upload, a mount or a manifest push touches or counts
what it uses in the same transaction that GC's conditional delete races with, so one of
the two wins cleanly: a manifest push that loses gets MANIFEST_BLOB_UNKNOWN (and uploads
again), never a manifest whose blobs are gone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.clock import Clock, epoch
from chalicelib.store.ports import GcMark

MAX_HOURS = 24 * 30  # how far back a first run looks


def link_mark(registry: str, repository: str, digest: str) -> GcMark:
    return GcMark("link", registry, repository, digest)


def blob_mark(registry: str, digest: str) -> GcMark:
    return GcMark("blob", registry, digest=digest)


def manifest_object_mark(registry: str, repository: str, digest: str, key: str) -> GcMark:
    return GcMark("manifest_object", registry, repository, digest, key)


def mark(metadata, clock: Clock, grace_s: int, marks: list[GcMark]) -> None:
    if marks:
        metadata.mark_garbage(marks, clock.now() + timedelta(seconds=grace_s))


@dataclass
class GcReport:
    dry_run: bool
    marks_read: int = 0
    blob_links: list[dict] = field(default_factory=list)
    blobs: list[dict] = field(default_factory=list)
    manifest_objects: list[dict] = field(default_factory=list)
    uploads_aborted: int = 0

    @property
    def bytes_freed(self) -> int:
        return sum(b["size"] for b in self.blobs)

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "marks_read": self.marks_read, "bytes_freed": self.bytes_freed,
                "blob_links": self.blob_links, "blobs": self.blobs, "manifest_objects": self.manifest_objects,
                "uploads_aborted": self.uploads_aborted}


class GarbageCollector:
    def __init__(self, metadata, objects, uploads, clock: Clock, grace_s: int):
        self._meta = metadata
        self._objects = objects
        self._uploads = uploads
        self._clock = clock
        self._grace = timedelta(seconds=grace_s)

    def run(self, dry_run: bool = False) -> GcReport:
        report = GcReport(dry_run)
        now = self._clock.now()
        cutoff = now - self._grace
        current = epoch(now) // 3600
        last = self._meta.swept_until("gc")
        if last is None:  # nothing was ever marked
            last = current - 1
        first = max(last + 1, current - MAX_HOURS)
        # A mark lives in the hour it falls due; only hours wholly past are read, so every
        # mark is at least a grace period old (and at most an hour more).
        for hour in range(first, current):
            for found, item_key in self._meta.gc_marks(hour):
                report.marks_read += 1
                self._look_at(found, cutoff, report)
                if not dry_run:
                    self._meta.drop_mark(item_key)
            if not dry_run:
                self._meta.mark_swept(hour, "gc")
        if not dry_run:
            report.uploads_aborted = len(self._uploads.sweep_expired())
        return report

    def _look_at(self, found: GcMark, cutoff: datetime, report: GcReport) -> None:
        if found.target == "link":
            self._link(found, cutoff, report)
        elif found.target == "blob":
            self._blob(found.registry, found.digest, cutoff, report)
        elif found.target == "manifest_object":
            self._manifest_object(found, report)

    def _link(self, found: GcMark, cutoff: datetime, report: GcReport) -> None:
        state = self._meta.link_state(found.registry, found.repository, found.digest)
        if state is None or state.refs > 0:
            return  # gone, or in use: whatever makes it unused again marks it again
        if state.updated_at and state.updated_at >= cutoff:
            self._again(found, report)  # touched within the grace period (a mount, a re-upload)
            return
        if report.dry_run or self._meta.collect_link(found.registry, found.repository, found.digest, cutoff):
            report.blob_links.append({"registry": found.registry, "repository": found.repository,
                                      "digest": found.digest})
            self._blob(found.registry, found.digest, cutoff, report, unlinked_now=True)

    def _blob(self, registry: str, digest: str, cutoff: datetime, report: GcReport,
              unlinked_now: bool = False) -> None:
        state = self._meta.blob_state(registry, digest)
        if state is None or state.links is None:
            return
        # In a dry run the link above was not really removed: count it as gone.
        links = state.links - (1 if unlinked_now and report.dry_run else 0)
        if links > 0:
            return
        if state.updated_at and state.updated_at >= cutoff:
            self._again(blob_mark(registry, digest), report)
            return
        if report.dry_run:
            removed = state.record
        else:
            removed = self._meta.collect_blob(registry, digest, cutoff)
            if removed is None:
                return
            self._objects.delete(removed.key)
        report.blobs.append({"registry": registry, "digest": digest, "size": removed.size})

    def _again(self, found: GcMark, report: GcReport) -> None:
        if not report.dry_run:
            mark(self._meta, self._clock, int(self._grace.total_seconds()), [found])

    def _manifest_object(self, found: GcMark, report: GcReport) -> None:
        if self._meta.manifest_object_in_use(found.registry, found.repository, found.digest, found.key):
            return
        if not report.dry_run:
            self._objects.delete(found.key)
        report.manifest_objects.append({"registry": found.registry, "repository": found.repository,
                                        "digest": found.digest})
