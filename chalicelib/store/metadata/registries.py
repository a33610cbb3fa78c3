"""Registries (REGISTRIES / REG#<name>), their byte counter and their repositories."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError, UpdateError

from .. import keys
from ..dynamo import condition_failed, get_item
from ..models import ManifestItem, PulledItem, RegistryBytesItem, RegistryItem, RepositoryItem
from ..ports import RegistryExists, RegistryRecord, RegistryUnknown, RepositoryRecord, RevisionConflict

_PULLED_TTL_S = 32 * 24 * 3600  # rescans look back at most a month

# Registry settings an update may change, and the attribute each is stored in.
REGISTRY_SETTINGS = ("description", "visibility", "quota_bytes", "policy")
REPOSITORY_SETTINGS = ("description", "policy")


class RegistryItems:
    def create_registry(self, name: str, now: datetime, actor: str, **settings) -> RegistryRecord:
        """settings: description, visibility, quota_bytes, bucket, policy."""
        item = RegistryItem(keys.REGISTRIES_PK, keys.registry_sk(name), name=name, created_at=now,
                            updated_by=actor, updated_at=now, revision=1,
                            **{k: v for k, v in settings.items() if v is not None})
        try:
            item.save(condition=RegistryItem.pk.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                raise RegistryExists(name) from error
            raise
        return _registry_record(item)

    def get_registry(self, name: str, consistent: bool = False) -> RegistryRecord | None:
        item = get_item(RegistryItem, keys.REGISTRIES_PK, keys.registry_sk(name), consistent)
        return item and _registry_record(item)

    def list_registries(self) -> list[RegistryRecord]:
        return [_registry_record(i)
                for i in RegistryItem.query(keys.REGISTRIES_PK, RegistryItem.sk.startswith("REG#"))]

    def update_registry(self, name: str, changes: dict, actor: str, expected_revision: int | None = None
                        ) -> RegistryRecord:
        """Change settings (a value of None removes it). Raises RegistryUnknown when there is
        no such active registry, RevisionConflict when `expected_revision` is stale."""
        actions = [getattr(RegistryItem, k).set(v) if v is not None else getattr(RegistryItem, k).remove()
                   for k, v in changes.items() if k in REGISTRY_SETTINGS]
        condition = RegistryItem.pk.exists() & RegistryItem.status.does_not_exist()
        if expected_revision is not None:
            condition &= RegistryItem.revision == expected_revision
        item = RegistryItem(keys.REGISTRIES_PK, keys.registry_sk(name))
        try:
            item.update(actions=[*actions, RegistryItem.revision.add(1), RegistryItem.updated_by.set(actor),
                                 RegistryItem.updated_at.set(self._clock.now())], condition=condition)
        except UpdateError as error:
            if not condition_failed(error):
                raise
            current = self.get_registry(name, consistent=True)
            if current is None or current.status != "active":
                raise RegistryUnknown(name) from error
            raise RevisionConflict(name) from error
        return _registry_record(item)

    def registry_bytes(self, name: str) -> int:
        item = get_item(RegistryBytesItem, keys.registry_pk(name), keys.REGISTRY_BYTES_SK, consistent=True)
        return int(item.stored or 0) if item else 0

    # ---- repositories -----------------------------------------------------------------

    def recently_pulled(self, days: list[str]) -> list[tuple[str, str, str]]:
        """(registry, repository, digest) of the images pulled on these days (YYYY-MM-DD)."""
        found = {(i.registry, i.repository, i.digest) for day in days for i in PulledItem.query(keys.pulled_pk(day))}
        return sorted(found)

    def list_repositories(self, registry: str) -> list[str]:
        prefix = keys.repository_sk("")
        return [keys.strip(prefix, i.sk) for i in RepositoryItem.query(
            keys.registry_pk(registry), RepositoryItem.sk.startswith(prefix), attributes_to_get=["pk", "sk", "kind"])]

    def list_repository_records(self, registry: str, after: str | None = None, limit: int | None = None
                                ) -> list[RepositoryRecord]:
        prefix = keys.repository_sk("")
        condition = (RepositoryItem.sk > keys.repository_sk(after)) if after else RepositoryItem.sk.startswith(prefix)
        found = []
        for item in RepositoryItem.query(keys.registry_pk(registry), condition):
            if not item.sk.startswith(prefix):
                break  # past the repositories (SK order: BLOB# < BYTES < REPO#)
            found.append(_repository_record(registry, item))
            if limit is not None and len(found) >= limit:
                break
        return found

    def get_repository(self, registry: str, repository: str) -> RepositoryRecord | None:
        item = get_item(RepositoryItem, keys.registry_pk(registry), keys.repository_sk(repository))
        return item and _repository_record(registry, item)

    def repository_exists(self, registry: str, repository: str) -> bool:
        return get_item(RepositoryItem, keys.registry_pk(registry), keys.repository_sk(repository),
                        attributes=["pk", "sk", "kind"]) is not None

    def update_repository(self, registry: str, repository: str, changes: dict, actor: str,
                          expected_revision: int | None = None) -> RepositoryRecord:
        actions = [getattr(RepositoryItem, k).set(v) if v is not None else getattr(RepositoryItem, k).remove()
                   for k, v in changes.items() if k in REPOSITORY_SETTINGS]
        condition = RepositoryItem.pk.exists()
        if expected_revision is not None:
            condition &= (RepositoryItem.revision == expected_revision) if expected_revision else \
                RepositoryItem.revision.does_not_exist()
        item = RepositoryItem(keys.registry_pk(registry), keys.repository_sk(repository))
        try:
            item.update(actions=[*actions, RepositoryItem.revision.add(1), RepositoryItem.updated_by.set(actor),
                                 RepositoryItem.updated_at.set(self._clock.now())], condition=condition)
        except UpdateError as error:
            if not condition_failed(error):
                raise
            if not self.repository_exists(registry, repository):
                raise RegistryUnknown(f"{registry}/{repository}") from error
            raise RevisionConflict(f"{registry}/{repository}") from error
        return _repository_record(registry, item)

    def record_pull(self, registry: str, repository: str, digest: str, when: datetime) -> None:
        """Move `last_pull` of the repository and the manifest forward (never back: a late,
        redelivered pull event changes nothing), and list the image among the day's pulls."""
        day = keys.audit_day(when)
        PulledItem(keys.pulled_pk(day), keys.pulled_sk(registry, repository, digest), registry=registry,
                   repository=repository, digest=digest, ttl=int(when.timestamp()) + _PULLED_TTL_S).save()
        for model, pk, sk in ((RepositoryItem, keys.registry_pk(registry), keys.repository_sk(repository)),
                              (ManifestItem, keys.repo_pk(registry, repository), keys.manifest_sk(digest))):
            try:
                model(pk, sk).update(actions=[model.last_pull.set(when)],
                                     condition=model.pk.exists() & (model.last_pull.does_not_exist()
                                                                    | (model.last_pull < when)))
            except UpdateError as error:
                if not condition_failed(error):
                    raise


def _registry_record(item: RegistryItem) -> RegistryRecord:
    return RegistryRecord(
        name=item.name, created_at=item.created_at, description=item.description or "",
        visibility=item.visibility or "private",
        quota_bytes=int(item.quota_bytes) if item.quota_bytes is not None else None,
        bucket=item.bucket, policy=item.policy, status=item.status or "active", revision=int(item.revision or 0))


def _repository_record(registry: str, item: RepositoryItem) -> RepositoryRecord:
    return RepositoryRecord(
        registry=registry, name=keys.strip(keys.repository_sk(""), item.sk), created_at=item.created_at,
        last_push=item.last_push, last_pull=item.last_pull, description=item.description or "",
        policy=item.policy, revision=int(item.revision or 0))
