"""Retention: the `retention` rules of a content policy, applied to a repository.

* keep_last N (tags PATTERN): of the tags matching, the N most recently pushed stay, the
  others go;
* not_pulled_for_days D (tags PATTERN): tags whose image nobody pulled for D days go (an
  image never pulled counts from its push);
* untagged_older_than_days D: manifests without a tag, pushed more than D days ago, go.

An image whose tags all go is deleted with them (as ECR expires images). Immutable tags
never go. Nothing still in use goes: a child of a surviving index, or a referrer (an SBOM,
a signature) of a surviving image; a child or referrer of an image that goes, with no tag
of its own, goes with it. The plan is computed first and is what a dry run shows; a real
run carries out exactly that plan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from chalicelib.clock import Clock
from chalicelib.oci import INDEX_TYPES, Code, OciError, RepoName
from chalicelib.store.ports import ManifestRecord, TagRecord

from .policy import ContentPolicy


@dataclass
class RepositoryPlan:
    repository: str
    tags: list[dict] = field(default_factory=list)       # {"tag", "digest", "reason"}
    manifests: list[dict] = field(default_factory=list)  # {"digest", "reason", "size"}
    bytes_freed: int = 0

    def as_dict(self) -> dict:
        return {"repository": self.repository, "tags": self.tags, "manifests": self.manifests,
                "bytes_freed": self.bytes_freed}


class RetentionService:
    def __init__(self, metadata, manifests, registries, clock: Clock):
        self._meta = metadata
        self._manifests = manifests
        self._registries = registries
        self._clock = clock

    def run_registry(self, registry: str, dry_run: bool = False, repository: str | None = None) -> dict:
        names = [repository] if repository else [r.name for r in self._meta.list_repository_records(registry)]
        plans = []
        for name in names:
            policy = self._registries.content_policy(registry, name)
            if not policy.retention:
                continue
            plan = self.plan(RepoName(registry, name), policy)
            if not dry_run:
                self._carry_out(RepoName(registry, name), plan)
            if plan.tags or plan.manifests:
                plans.append(plan)
        return {"registry": registry, "dry_run": dry_run, "repositories": [p.as_dict() for p in plans],
                "bytes_freed": sum(p.bytes_freed for p in plans)}

    def run_all(self) -> list[dict]:
        return [self.run_registry(r.name) for r in self._registries.list() if r.status == "active"]

    def plan(self, name: RepoName, policy: ContentPolicy) -> RepositoryPlan:
        now = self._clock.now()
        tags = self._meta.list_tag_records(name.registry, name.repository)
        manifests = {m.digest: m for m in self._meta.list_manifest_records(name.registry, name.repository)}
        doomed_tags = _doomed_tags(tags, manifests, policy, now)
        tags_of: dict[str, list[TagRecord]] = {}
        for tag in tags:
            tags_of.setdefault(tag.manifest.digest, []).append(tag)
        reasons: dict[str, str] = {}
        for digest, record in manifests.items():
            own = tags_of.get(digest, [])
            if own and all(t.name in doomed_tags for t in own):
                reasons[digest] = "all its tags expire"
            elif not own:
                rule = next((r for r in policy.retention if r.kind == "untagged_older_than_days"
                             and (record.created_at or now) < now - timedelta(days=r.value)), None)
                if rule:
                    reasons[digest] = rule.describe()
        doomed = _settle(manifests, tags_of, doomed_tags, reasons)
        plan = RepositoryPlan(name.repository)
        plan.tags = [{"tag": t.name, "digest": t.manifest.digest, "reason": doomed_tags[t.name]}
                     for t in tags if t.name in doomed_tags]
        plan.manifests = [{"digest": d, "reason": doomed[d], "size": manifests[d].size} for d in sorted(doomed)]
        plan.bytes_freed = self._bytes_freed(name, manifests, doomed)
        return plan

    def _carry_out(self, name: RepoName, plan: RepositoryPlan) -> None:
        doomed = {m["digest"] for m in plan.manifests}
        for entry in plan.tags:
            if entry["digest"] not in doomed:
                self._ignore_gone(lambda: self._manifests.delete_tag(name, entry["tag"], "system:retention"))
        for entry in plan.manifests:
            self._ignore_gone(lambda: self._manifests.delete_manifest(name, entry["digest"], "system:retention"))

    @staticmethod
    def _ignore_gone(action) -> None:
        try:
            action()
        except OciError as error:
            if error.code != Code.MANIFEST_UNKNOWN:  # gone meanwhile is fine; anything else is not
                raise

    def _bytes_freed(self, name: RepoName, manifests: dict[str, ManifestRecord], doomed: dict[str, str]) -> int:
        """Manifest bytes plus the blobs only doomed manifests use, within the repository
        (a blob other repositories link stays stored until GC finds none does)."""
        def blobs(digests) -> set[str]:
            return {b for d in digests if manifests[d].media_type not in INDEX_TYPES for b in manifests[d].references}
        freed = blobs(doomed) - blobs(set(manifests) - set(doomed))
        sizes = 0
        for digest in freed:
            blob = self._meta.get_blob(name.registry, name.repository, digest)
            sizes += blob.size if blob else 0
        return sizes + sum(manifests[d].size for d in doomed)


def _doomed_tags(tags: list[TagRecord], manifests: dict[str, ManifestRecord], policy: ContentPolicy,
                 now: datetime) -> dict[str, str]:
    doomed: dict[str, str] = {}
    for rule in policy.retention:
        matching = [t for t in tags if fnmatchcase(t.name, rule.tags) and not policy.is_immutable(t.name)]
        if rule.kind == "keep_last":
            newest_first = sorted(matching, key=lambda t: (t.updated_at or now, t.name), reverse=True)
            for tag in newest_first[rule.value:]:
                doomed.setdefault(tag.name, rule.describe())
        elif rule.kind == "not_pulled_for_days":
            limit = now - timedelta(days=rule.value)
            for tag in matching:
                record = manifests.get(tag.manifest.digest)
                last = (record.last_pull if record else None) or tag.updated_at or now
                if last < limit:
                    doomed.setdefault(tag.name, rule.describe())
    return doomed


def _settle(manifests: dict[str, ManifestRecord], tags_of: dict[str, list[TagRecord]],
            doomed_tags: dict[str, str], reasons: dict[str, str]) -> dict[str, str]:
    """The manifests that go: candidates minus what survivors still use, plus the untagged
    children and referrers of what goes, until nothing changes."""
    def untagged_after(digest: str) -> bool:
        return all(t.name in doomed_tags for t in tags_of.get(digest, []))

    doomed = dict(reasons)
    while True:
        survivors = set(manifests) - set(doomed)
        used = {c for s in survivors if manifests[s].media_type in INDEX_TYPES for c in manifests[s].references}
        used |= {d for d, m in manifests.items() if m.subject in survivors}
        changed = {d for d in doomed if d in used}
        for digest in changed:
            del doomed[digest]
        for digest, record in manifests.items():
            if digest in doomed or digest in used or not untagged_after(digest):
                continue
            parents = [p for p, m in manifests.items() if m.media_type in INDEX_TYPES and digest in m.references]
            if record.subject in doomed or (parents and all(p in doomed for p in parents)):
                doomed[digest] = "belongs to an image that goes"
                changed.add(digest)
        if not changed:
            return doomed
