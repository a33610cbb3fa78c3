"""Registries (tenants): the first component of every repository name, with their settings
(description, visibility, quota, own bucket, content policy)."""
from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from chalicelib.clock import Clock
from chalicelib.oci import Code, OciError, parse_registry_name
from chalicelib.store.ports import RegistryExists, RegistryRecord, RegistryUnknown, RevisionConflict

from .errors import Conflict, InvalidSetting, NotFound, PreconditionFailed
from .policy import ContentPolicy, effective, parse_policy

VISIBILITIES = ("private", "public")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_MAX_DESCRIPTION = 1024
_MAX_QUOTA = 1 << 60


@dataclass(frozen=True)
class RegistryStats:
    stored_bytes: int
    repositories: int
    last_push: datetime | None


class _TtlCache:
    """Settings read on hot paths (a pull's block policy, a key's bucket), kept a few seconds
    per process: on Lambda each instance reads them again at most that often."""

    def __init__(self, ttl_s: float):
        self._ttl, self._lock, self._items = ttl_s, threading.Lock(), {}

    def get(self, key, load: Callable):
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit and hit[0] > now:
                return hit[1]
        value = load()
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (now + self._ttl, value)
        return value

    def forget(self, registry: str) -> None:
        """After a change made here: this process sees it at once (others within the TTL)."""
        with self._lock:
            self._items = {k: v for k, v in self._items.items() if k[1] != registry}


class RegistryService:
    def __init__(self, metadata, clock: Clock, cache_ttl_s: float = 10.0):
        self._meta = metadata
        self._clock = clock
        self._cache = _TtlCache(cache_ttl_s)
        self._bucket_exists: Callable[[str], bool] | None = None

    def bind_bucket_check(self, bucket_exists: Callable[[str], bool]) -> None:
        """How to tell that a registry's own bucket exists (the object store knows; it is
        built after this service, since it asks this one for registries' buckets)."""
        self._bucket_exists = bucket_exists

    # ---- the data plane's view --------------------------------------------------------

    def require(self, registry: str) -> RegistryRecord:
        record = self._meta.get_registry(registry)
        if record is None or record.status != "active":
            state = "is being deleted" if record is not None else "does not exist"
            hint = "" if record is not None else f"; create it first (moorage registry create {registry})"
            raise OciError(Code.NAME_UNKNOWN, detail={"registry": registry},
                           message=f"registry '{registry}' {state}{hint}")
        return record

    def content_policy(self, registry: str, repository: str | None = None) -> ContentPolicy:
        """The effective policy, as of at most cache_ttl_s ago."""
        def load() -> ContentPolicy:
            record = self._meta.get_registry(registry)
            repo = self._meta.get_repository(registry, repository) if repository and record else None
            return effective(record.policy if record else None, repo.policy if repo else None)
        return self._cache.get(("policy", registry, repository), load)

    def bucket_of(self, registry: str) -> str | None:
        """The registry's own bucket (None: the deployment's). Fixed at creation."""
        def load():
            record = self._meta.get_registry(registry)
            return record.bucket if record else None
        return self._cache.get(("bucket", registry), load)

    # ---- management -------------------------------------------------------------------

    def create(self, name: str, actor: str, description: str = "", visibility: str = "private",
               quota_bytes: int | None = None, bucket: str | None = None, policy: object = None) -> RegistryRecord:
        name = parse_registry_name(name)
        settings = _check({"description": description, "visibility": visibility, "quota_bytes": quota_bytes,
                           "policy": policy})
        if bucket is not None:
            settings["bucket"] = self._check_bucket(bucket)
        if self._meta.get_deletion(name) is not None:
            raise Conflict(f"registry '{name}' is still being deleted; try again when it is gone")
        self._cache.forget(name)  # a registry of this name may have existed, with another bucket
        return self._meta.create_registry(name, self._clock.now(), actor,
                                          **{k: v for k, v in settings.items() if v not in (None, "private", "")})

    def ensure(self, name: str, actor: str) -> None:
        try:
            self.create(name, actor)
        except (RegistryExists, Conflict):
            pass

    def list(self) -> list[RegistryRecord]:
        return self._meta.list_registries()

    def get(self, name: str) -> RegistryRecord:
        record = self._meta.get_registry(name, consistent=True)
        if record is None:
            raise NotFound(f"registry '{name}' does not exist")
        return record

    def update(self, name: str, changes: dict, actor: str, expected_revision: int | None = None) -> RegistryRecord:
        allowed = {"description", "visibility", "quota_bytes", "policy"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise InvalidSetting(f"'{unknown[0][:64]}' cannot be changed; settings: {', '.join(sorted(allowed))}")
        checked = _check(changes)
        if checked.get("visibility") == "private":
            checked["visibility"] = None  # stored as absent
        if checked.get("quota_bytes") is not None:
            stored = self._meta.registry_bytes(name)
            if checked["quota_bytes"] < stored:
                raise Conflict(f"registry '{name}' stores {stored} bytes; a quota of {checked['quota_bytes']} "
                               "bytes would be below that (delete content first)")
        try:
            return self._meta.update_registry(name, checked, actor, expected_revision)
        except RegistryUnknown:
            raise NotFound(f"registry '{name}' does not exist or is being deleted") from None
        except RevisionConflict:
            raise PreconditionFailed(f"registry '{name}' changed since revision {expected_revision}; "
                                     "read it again and retry") from None
        finally:
            self._cache.forget(name)

    def update_repository(self, name, changes: dict, actor: str, expected_revision: int | None = None):
        """Description and policy (already validated) of a repository."""
        try:
            return self._meta.update_repository(name.registry, name.repository, changes, actor, expected_revision)
        except RegistryUnknown:
            raise NotFound(f"repository '{name}' does not exist") from None
        except RevisionConflict:
            raise PreconditionFailed(f"repository '{name}' changed since revision {expected_revision}; "
                                     "read it again and retry") from None
        finally:
            self._cache.forget(name.registry)

    def stats(self, name: str) -> RegistryStats:
        repositories = self._meta.list_repository_records(name)
        pushes = [r.last_push for r in repositories if r.last_push]
        return RegistryStats(self._meta.registry_bytes(name), len(repositories), max(pushes) if pushes else None)

    def _check_bucket(self, bucket: object) -> str:
        if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket) or ".." in bucket:
            raise InvalidSetting(f"invalid S3 bucket name {str(bucket)[:64]!r}")
        if self._bucket_exists is not None and not self._bucket_exists(bucket):
            raise InvalidSetting(f"bucket '{bucket}' does not exist or the registry may not use it")
        return bucket


def _check(settings: dict) -> dict:
    checked = {}
    for key, value in settings.items():
        if key == "description":
            if value is None:
                value = ""
            if not isinstance(value, str) or len(value) > _MAX_DESCRIPTION:
                raise InvalidSetting(f"description is a string of at most {_MAX_DESCRIPTION} characters")
        elif key == "visibility":
            if value not in VISIBILITIES:
                raise InvalidSetting(f"visibility is one of {', '.join(VISIBILITIES)}")
        elif key == "quota_bytes":
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or not 0 <= value <= _MAX_QUOTA):
                raise InvalidSetting("quota_bytes is a whole number of bytes, 0 or more (null: no quota)")
        elif key == "policy":
            value = None if value is None else json.dumps(parse_policy(value), sort_keys=True)
        checked[key] = value
    return checked
