"""What the registry service needs from storage: small protocols, frozen records and
domain exceptions. No AWS here; adapters in this package implement the protocols."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator, Protocol, Sequence


# ---- records -------------------------------------------------------------------------

@dataclass(frozen=True)
class RegistryRecord:
    name: str
    created_at: datetime
    description: str = ""
    visibility: str = "private"      # "public": anyone may pull
    quota_bytes: int | None = None   # unique bytes stored at most
    bucket: str | None = None        # the registry's own S3 bucket (None: the deployment's)
    policy: str | None = None        # content policy JSON (chalicelib/registry/policy.py)
    status: str = "active"           # or "deleting"
    revision: int = 0                # bumped by every settings update (ETag / If-Match)


@dataclass(frozen=True)
class RepositoryRecord:
    registry: str
    name: str                        # the path inside the registry
    created_at: datetime
    last_push: datetime | None = None
    last_pull: datetime | None = None
    description: str = ""
    policy: str | None = None        # overrides of the registry's content policy (JSON)
    revision: int = 0


@dataclass(frozen=True)
class BlobRecord:
    """A blob linked into one repository. `key` is where its bytes live in S3."""
    digest: str
    size: int
    key: str


@dataclass(frozen=True)
class ManifestRecord:
    digest: str
    media_type: str
    size: int
    artifact_type: str | None = None
    subject: str | None = None
    # Exact bytes when small enough to keep in the item; else read from S3 by digest.
    inline: bytes | None = None
    created_at: datetime | None = None
    # Digests this manifest refers to (blobs for an image, manifests for an index).
    references: tuple[str, ...] = ()
    key: str | None = None           # S3 key of the bytes (None: the legacy content-addressed key)
    pushed_by: str | None = None
    # Kept on the manifest item only (a tag's copy has neither):
    last_pull: datetime | None = None
    scan: str | None = None          # scan summary JSON


@dataclass(frozen=True)
class GcMark:
    """Something that may have become garbage: a blob link, a registry blob, manifest bytes."""
    target: str                      # "link" | "blob" | "manifest_object"
    registry: str
    repository: str | None = None
    digest: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class DeletionRecord:
    registry: str
    repository: str | None
    requested_at: datetime
    requested_by: str
    removed: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TagRecord:
    name: str
    manifest: ManifestRecord
    updated_at: datetime | None = None  # when the tag last moved
    updated_by: str | None = None


@dataclass(frozen=True)
class ReferrerRecord:
    digest: str
    media_type: str
    size: int
    artifact_type: str | None
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UploadSession:
    id: str
    registry: str
    repository: str
    key: str                    # S3 key the bytes are landing at
    offset: int                 # bytes received and hashed so far
    hash_state: bytes           # serialized SHA-256 state of those bytes
    multipart_id: str | None    # S3 multipart upload, once the first part is written
    parts: tuple[tuple[int, str], ...]  # (part number, ETag) written so far
    carry_key: str | None       # S3 object holding bytes short of the 5 MiB part minimum
    expires_at: datetime
    direct: bool = False        # bytes come straight from the client via pre-signed URLs


# ---- exceptions ----------------------------------------------------------------------

class StoreError(Exception):
    """Base of the domain exceptions the adapters raise."""


class RegistryExists(StoreError):
    pass


class RegistryUnknown(StoreError):
    """No such registry, or it is being deleted."""


class RevisionConflict(StoreError):
    """The item changed since the revision the caller read (If-Match)."""


class QuotaExceeded(StoreError):
    def __init__(self, registry: str, quota: int, stored: int, size: int):
        super().__init__(f"registry '{registry}' stores {stored} of its {quota}-byte quota; "
                         f"{size} more bytes would exceed it by {stored + size - quota}")
        self.registry, self.quota, self.stored, self.size = registry, quota, stored, size


class TagImmutable(StoreError):
    def __init__(self, tag: str):
        super().__init__(tag)
        self.tag = tag


class ManifestExists(StoreError):
    """The manifest item is not as the push expected (another push created it first, or it
    was deleted meanwhile): read it again and retry."""


class BlobsMissing(StoreError):
    def __init__(self, digests: list[str]):
        super().__init__(", ".join(digests))
        self.digests = digests


class BlobInUse(StoreError):
    def __init__(self, digest: str, refs: int):
        super().__init__(f"blob {digest} is referenced by {refs} manifest(s) of the repository")
        self.digest, self.refs = digest, refs


class UploadConflict(StoreError):
    """The upload session moved on (another request wrote to it first)."""


class UploadUnknown(StoreError):
    pass


class IncompleteObject(StoreError):
    """The bytes of an object are not (all) in storage: missing parts, no object."""


# ---- ports ---------------------------------------------------------------------------

class ObjectStore(Protocol):
    """Bytes in S3, by key."""

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes | None: ...
    def size(self, key: str) -> int | None: ...
    def delete(self, key: str) -> None: ...
    def read_chunks(self, key: str, chunk_size: int) -> Iterator[bytes]: ...
    def presign_get(self, key: str, ttl_s: int) -> str: ...
    def presign_put(self, key: str, ttl_s: int, size: int, sha256_b64: str) -> tuple[str, dict[str, str]]: ...
    def presign_part(self, key: str, multipart_id: str, part_number: int, ttl_s: int) -> str: ...
    def start_multipart(self, key: str) -> str: ...
    def upload_part(self, key: str, multipart_id: str, part_number: int, data: bytes) -> str: ...
    def list_parts(self, key: str, multipart_id: str) -> list[tuple[int, str]]: ...
    def complete_multipart(self, key: str, multipart_id: str, parts: Sequence[tuple[int, str]]) -> None: ...
    def abort_multipart(self, key: str, multipart_id: str) -> None: ...


class RegistryCatalog(Protocol):
    def create_registry(self, name: str, now: datetime, actor: str) -> RegistryRecord: ...
    def get_registry(self, name: str) -> RegistryRecord | None: ...
    def list_registries(self) -> list[RegistryRecord]: ...
    def list_repositories(self, registry: str) -> list[str]: ...


class BlobIndex(Protocol):
    def get_blob(self, registry: str, repository: str, digest: str) -> BlobRecord | None: ...
    def missing_blobs(self, registry: str, repository: str, digests: Sequence[str]) -> list[str]: ...
    def link_blob(self, registry: str, repository: str, blob: BlobRecord, actor: str) -> None: ...
    def commit_blob(self, registry: str, repository: str, blob: BlobRecord, upload_id: str, actor: str) -> BlobRecord: ...
    def unlink_blob(self, registry: str, repository: str, digest: str, actor: str = "system") -> bool: ...


class ManifestIndex(Protocol):
    def get_manifest(self, registry: str, repository: str, digest: str) -> ManifestRecord | None: ...
    def missing_manifests(self, registry: str, repository: str, digests: Sequence[str]) -> list[str]: ...
    def get_tag(self, registry: str, repository: str, tag: str) -> TagRecord | None: ...
    def put_manifest(self, registry: str, repository: str, manifest: ManifestRecord, tag: str | None,
                     referrer: ReferrerRecord | None, now: datetime, actor: str) -> None: ...
    def delete_manifest(self, registry: str, repository: str, digest: str, actor: str = "system") -> bool: ...
    def delete_tag(self, registry: str, repository: str, tag: str, actor: str = "system") -> bool: ...
    def list_tags(self, registry: str, repository: str, after: str | None, limit: int | None) -> list[str]: ...
    def repository_exists(self, registry: str, repository: str) -> bool: ...
    def list_referrers(self, registry: str, repository: str, subject: str) -> list[ReferrerRecord]: ...


class UploadSessions(Protocol):
    def create_upload(self, session: UploadSession, actor: str) -> None: ...
    def get_upload(self, upload_id: str) -> UploadSession | None: ...
    def advance_upload(self, before: UploadSession, after: UploadSession) -> None: ...
    def delete_upload(self, upload_id: str) -> None: ...


class PrincipalExists(Exception):
    pass


class PrincipalUnknown(Exception):
    pass


@dataclass(frozen=True)
class PrincipalRecord:
    ptype: str  # "user" | "group" | "robot"
    name: str
    created_at: datetime
    secret_hash: str | None = None
    registry: str | None = None
    groups: tuple[str, ...] = ()
    roles: dict[str, str] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)
    disabled: bool = False
    expires_at: datetime | None = None
    description: str = ""
