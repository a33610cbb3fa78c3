"""Deleting a repository or a whole registry, in the background and in bounded steps.

A request queues the deletion (a registry stops taking pushes and serving pulls at once)
and does as much as a short budget allows; the scheduled worker carries on from where the
last step stopped, so a registry of any size goes away without a request timing out.
Progress (what is gone so far) is kept on the deletion item and shown by the API.

Order, per repository: tags, manifests (counting their blob references down), leftover
referrer entries, blob links, the repository item. Then, for a registry: its blobs and
their bytes (nothing can link them any more: commits and mounts into a deleting registry
are refused), what other packages keep per registry (robots, roles, webhooks: the
`on_registry_gone` hooks), its byte counter and the registry item itself. Audit records
and usage history stay: they are the record of what happened, and expire on their own.
"""
from __future__ import annotations

import time
from typing import Callable

from chalicelib.oci import Code, OciError, RepoName
from chalicelib.store.ports import DeletionRecord, RegistryUnknown

from .errors import Conflict, NotFound

_STEP = 100  # items listed per step


class DeletionWorker:
    def __init__(self, metadata, objects, manifests, on_registry_gone: list[Callable[[str, str], None]] | None = None):
        self._meta = metadata
        self._objects = objects
        self._manifests = manifests
        self._hooks = on_registry_gone or []

    # ---- requests ---------------------------------------------------------------------

    def request_registry(self, registry: str, actor: str, force: bool = False) -> DeletionRecord:
        record = self._meta.get_registry(registry, consistent=True)
        if record is None:
            raise NotFound(f"registry '{registry}' does not exist")
        if record.status == "deleting":
            return self._meta.get_deletion(registry) or DeletionRecord(registry, None, record.created_at, actor)
        repositories = self._meta.list_repository_records(registry, limit=1)
        if repositories and not force:
            raise Conflict(f"registry '{registry}' is not empty (it holds repositories, e.g. "
                           f"'{repositories[0].name}'); delete with force=true to remove all its content")
        try:
            return self._meta.start_registry_deletion(registry, actor)
        except RegistryUnknown:
            return self._meta.get_deletion(registry) or DeletionRecord(registry, None, record.created_at, actor)

    def request_repository(self, name: RepoName, actor: str) -> DeletionRecord:
        if not self._meta.repository_exists(name.registry, name.repository):
            raise NotFound(f"repository '{name}' does not exist")
        return self._meta.start_repository_deletion(name.registry, name.repository, actor)

    def status(self, registry: str, repository: str | None = None) -> DeletionRecord | None:
        return self._meta.get_deletion(registry, repository)

    # ---- work -------------------------------------------------------------------------

    def run(self, budget_s: float = 50.0) -> list[DeletionRecord]:
        """Work on every queued deletion until the budget is spent; returns those finished."""
        deadline = time.monotonic() + budget_s
        finished = []
        for record in self._meta.deletions():
            if time.monotonic() >= deadline:
                break
            if self.run_one(record, deadline):
                finished.append(record)
        return finished

    def run_one(self, record: DeletionRecord, deadline: float) -> bool:
        removed = dict(record.removed)
        actor = record.requested_by
        try:
            if record.repository is not None:
                done = self._repository(record.registry, record.repository, actor, removed, deadline, purge=False)
            else:
                done = self._registry(record.registry, actor, removed, deadline)
        finally:
            if removed != record.removed:
                self._meta.record_deletion_progress(record, removed)
        if done:
            self._meta.finish_deletion(record)
        return done

    def _registry(self, registry: str, actor: str, removed: dict, deadline: float) -> bool:
        while True:
            repositories = self._meta.list_repository_records(registry, limit=_STEP)
            if not repositories:
                break
            for repository in repositories:
                if not self._repository(registry, repository.name, actor, removed, deadline, purge=True):
                    return False
        while blobs := self._meta.registry_blobs(registry, _STEP):
            for blob in blobs:
                if time.monotonic() >= deadline:
                    return False
                self._objects.delete(blob.key)
                self._meta.delete_registry_blob(registry, blob.digest, actor)
                _count(removed, "blobs")
                _count(removed, "bytes", blob.size)
        for hook in self._hooks:
            hook(registry, actor)
        self._meta.delete_registry_item(registry, actor)
        return True

    def _repository(self, registry: str, repository: str, actor: str, removed: dict, deadline: float,
                    purge: bool) -> bool:
        """purge: the whole registry goes, so manifest bytes are deleted at once (GC could not
        find the registry's own bucket once the registry is gone)."""
        name = RepoName(registry, repository)
        while True:
            tags = self._meta.list_tag_records(registry, repository)[:_STEP]
            manifests = self._meta.list_manifest_records(registry, repository)[:_STEP]
            referrers = self._meta.referrer_keys(registry, repository, _STEP)
            links = self._meta.linked_digests(registry, repository, _STEP)
            if not (tags or manifests or referrers or links):
                break
            for tag in tags:
                if time.monotonic() >= deadline:
                    return False
                if self._meta.delete_tag(registry, repository, tag.name, actor):
                    _count(removed, "tags")
            for manifest in manifests:
                if time.monotonic() >= deadline:
                    return False
                try:
                    gone = self._manifests.delete_manifest(name, manifest.digest, actor, force=True)
                except OciError as error:
                    if error.code != Code.MANIFEST_UNKNOWN:
                        raise
                    continue  # deleted meanwhile
                if purge and gone.key:
                    self._objects.delete(gone.key)
                _count(removed, "manifests")
            for sk in referrers:
                self._meta.delete_referrer_item(registry, repository, sk, actor)
            for digest in links:
                if time.monotonic() >= deadline:
                    return False
                self._meta.force_unlink(registry, repository, digest, actor)
        if self._meta.delete_repository_item(registry, repository, actor):
            _count(removed, "repositories")
        return True


def _count(removed: dict, kind: str, amount: int = 1) -> None:
    removed[kind] = removed.get(kind, 0) + amount
