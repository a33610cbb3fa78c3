"""PynamoDB models of the one table. They never leave store/: adapters return records."""
from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.models import Model


class TableItem(Model):
    class Meta:
        table_name = "moorage"  # rebound by bind() from settings

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    # Who wrote the item: stream records say who did what.
    updated_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    # Expiry in epoch seconds (DynamoDB TTL attribute of the table).
    ttl = NumberAttribute(null=True)


class RegistryItem(TableItem, discriminator="registry"):
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    description = UnicodeAttribute(default="")
    # The registry's resource policy (JSON text): applies to every caller, anonymous included.
    resource_policy = UnicodeAttribute(null=True)
    visibility = UnicodeAttribute(null=True)  # "private" (None) or "public" (anonymous pull)
    quota_bytes = NumberAttribute(null=True)  # unique bytes stored at most; None: no quota
    bucket = UnicodeAttribute(null=True)  # the registry's own S3 bucket; None: the deployment's
    policy = UnicodeAttribute(null=True)  # content policy JSON (chalicelib/registry/policy.py)
    status = UnicodeAttribute(null=True)  # None: active; "deleting": being removed
    # Bumped by every settings update: If-Match / ETag for conflicting updates.
    revision = NumberAttribute(default=0)


class RegistryBytesItem(TableItem, discriminator="registry_bytes"):
    """Unique bytes a registry stores: moved in the same transaction as the blob items, so a
    quota is exact at the byte (the meter's gauge is an eventually consistent copy)."""
    stored = NumberAttribute(default=0)


class RepositoryItem(TableItem, discriminator="repository"):
    created_at = UTCDateTimeAttribute()
    last_push = UTCDateTimeAttribute(null=True)
    last_pull = UTCDateTimeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    policy = UnicodeAttribute(null=True)  # overrides of the registry's content policy (JSON)
    revision = NumberAttribute(null=True)


class BlobItem(TableItem, discriminator="blob"):
    """Registry-level record of stored bytes; one per digest per registry. `links` counts the
    repositories that link it: at 0 (and after the grace period) GC removes it and its bytes."""
    size = NumberAttribute()
    key = UnicodeAttribute()
    links = NumberAttribute(null=True)


class BlobLinkItem(TableItem, discriminator="blob_link"):
    """A blob in a repository. `refs` counts the repository's manifests that reference it."""
    size = NumberAttribute()
    key = UnicodeAttribute()
    refs = NumberAttribute(null=True)


class ManifestFields(MapAttribute):
    digest = UnicodeAttribute()
    media_type = UnicodeAttribute()
    size = NumberAttribute()
    artifact_type = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    inline = BinaryAttribute(null=True, legacy_encoding=False)
    created_at = UTCDateTimeAttribute(null=True)
    references = ListAttribute(of=UnicodeAttribute, null=True)
    key = UnicodeAttribute(null=True)  # where the bytes are in S3 (None: the legacy content-addressed key)
    pushed_by = UnicodeAttribute(null=True)


class ManifestItem(TableItem, discriminator="manifest"):
    manifest = ManifestFields()
    last_pull = UTCDateTimeAttribute(null=True)
    scan = UnicodeAttribute(null=True)  # scan summary JSON (chalicelib/registry/policy.py reads it)


class TagItem(TableItem, discriminator="tag"):
    # A copy of the manifest record, so a pull by tag is one GetItem.
    manifest = ManifestFields()


class ReferrerItem(TableItem, discriminator="referrer"):
    digest = UnicodeAttribute()
    media_type = UnicodeAttribute()
    size = NumberAttribute()
    artifact_type = UnicodeAttribute(null=True)
    annotations = MapAttribute(null=True)


class UploadItem(TableItem, discriminator="upload"):
    registry = UnicodeAttribute()
    repository = UnicodeAttribute()
    key = UnicodeAttribute()
    offset = NumberAttribute()
    hash_state = BinaryAttribute(legacy_encoding=False)
    multipart_id = UnicodeAttribute(null=True)
    parts = ListAttribute(null=True)  # [[number, etag], ...]
    carry_key = UnicodeAttribute(null=True)
    expires_at = UTCDateTimeAttribute()
    direct = BooleanAttribute(default=False)


class PrincipalItem(TableItem, discriminator="principal"):
    """A user, group or robot account, with what is attached to it (read in one GetItem)."""
    ptype = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    secret_hash = UnicodeAttribute(null=True)
    registry = UnicodeAttribute(null=True)  # robots belong to one registry
    groups = ListAttribute(of=UnicodeAttribute, default=list)
    # Plain JSON maps: their keys are data (registry and policy names), not attribute names.
    roles = JSONAttribute(default=dict)  # registry -> built-in role
    policies = JSONAttribute(default=dict)  # policy name -> JSON document
    disabled = BooleanAttribute(default=False)
    expires_at = UTCDateTimeAttribute(null=True)
    description = UnicodeAttribute(default="")
    # Read-modify-write updates (roles, policies, groups) are guarded by this version.
    version = VersionAttribute()


class SweepItem(TableItem, discriminator="sweep"):
    hour = NumberAttribute()


class GcMarkItem(TableItem, discriminator="gc_mark"):
    """Something that may have become garbage (chalicelib/registry/gc.py): GC looks at it once
    its hour is due, so a run reads what changed, never the whole bucket."""
    registry = UnicodeAttribute()
    repository = UnicodeAttribute(null=True)
    digest = UnicodeAttribute(null=True)
    key = UnicodeAttribute(null=True)  # an S3 key (manifest bytes)
    target = UnicodeAttribute()  # "link" | "blob" | "manifest_object"


class LoginFailureItem(TableItem, discriminator="login_failures"):
    """Failed logins of an account in one window (chalicelib/store/throttle.py; TTL)."""
    count = NumberAttribute(default=0)


class PulledItem(TableItem, discriminator="pulled"):
    """An image pulled on a day (TTL): when the vulnerability data changes, these are rescanned."""
    registry = UnicodeAttribute()
    repository = UnicodeAttribute()
    digest = UnicodeAttribute()


class DeletionItem(TableItem, discriminator="deletion"):
    """A registry or repository being deleted in the background, with its progress."""
    registry = UnicodeAttribute()
    repository = UnicodeAttribute(null=True)
    requested_at = UTCDateTimeAttribute()
    requested_by = UnicodeAttribute()
    removed = JSONAttribute(default=dict)  # what is gone so far, by kind


class WebhookItem(TableItem, discriminator="webhook"):
    """A registry's webhook subscription (chalicelib/store/webhooks.py)."""
    registry = UnicodeAttribute()
    webhook_id = UnicodeAttribute()
    url = UnicodeAttribute()
    events = ListAttribute(of=UnicodeAttribute)  # event types; "*" for all
    secret = UnicodeAttribute()  # signs deliveries, so kept in the clear; shown only at creation
    description = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()
    enabled = BooleanAttribute(default=True)


class WebhookDeliveryItem(TableItem, discriminator="webhook_delivery"):
    """Attempts at one event for one subscription (TTL)."""
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    event_time = UTCDateTimeAttribute()
    attempts = NumberAttribute(default=0)
    attempted_at = UTCDateTimeAttribute()
    status_code = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    delivered_at = UTCDateTimeAttribute(null=True)


class UsageItem(TableItem, discriminator="usage"):
    """The meter's items (chalicelib/store/usage.py): an hour's counters of a repository or
    of the registry (`_`), the registry's stored-bytes gauge, and markers of counted events.
    Counters are created by ADD, so an hour nothing happened in has no item."""
    pulls = NumberAttribute(null=True)
    pushes = NumberAttribute(null=True)
    bytes_uploaded = NumberAttribute(null=True)
    scans = NumberAttribute(null=True)
    errors = NumberAttribute(null=True)
    bytes_linked = NumberAttribute(null=True)  # net bytes linked into the repository this hour
    bytes_stored = NumberAttribute(null=True)  # the gauge; on an hour row, its value after that hour's last change


class AuditItem(TableItem, discriminator="audit"):
    """One event in the audit log (chalicelib/store/audit.py): written once, never updated (TTL)."""
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    event_time = UTCDateTimeAttribute()
    principal = UnicodeAttribute()
    source_ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    registry = UnicodeAttribute(null=True)  # None: the `_` partition (logins, principal changes)
    repository = UnicodeAttribute(null=True)
    tag = UnicodeAttribute(null=True)
    digest = UnicodeAttribute(null=True)
    result = UnicodeAttribute()
    details = JSONAttribute(default=dict)


class AuditDayItem(TableItem, discriminator="audit_day"):
    """Marks a partition (a registry or `_`) that holds audit records on a day, so the
    deployment-wide log finds every partition, deleted registries' included (TTL)."""


def bind(table_name: str, region: str, host: str | None) -> None:
    """Point every model at the configured table (called once by build_services)."""
    for model in (LoginFailureItem, TableItem, RegistryItem, RegistryBytesItem, RepositoryItem, BlobItem, BlobLinkItem,
                  ManifestItem, TagItem, ReferrerItem, UploadItem, SweepItem, GcMarkItem, DeletionItem, PulledItem,
                  PrincipalItem, WebhookItem, WebhookDeliveryItem, UsageItem, AuditItem, AuditDayItem):
        model.Meta.table_name = table_name
        model.Meta.region = region
        model.Meta.host = host
        model._connection = None
