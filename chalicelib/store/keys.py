"""Every table key and S3 key comes from here (like distribution's paths.go).

Table (one table, PK/SK):
  REGISTRIES             REG#<registry>             registry
  REG#<registry>         REPO#<repository>          repository
  REG#<registry>         BLOB#<digest>              blob stored in the registry (size, S3 key, links)
  REG#<registry>         BYTES                      unique bytes the registry stores (quota counter)
  REPO#<reg>/<repo>      BLOB#<digest>              blob linked into a repository (refs: manifests using it)
  REPO#<reg>/<repo>      MAN#<digest>               manifest
  REPO#<reg>/<repo>      TAG#<tag>                  tag (carries a copy of its manifest record)
  REPO#<reg>/<repo>      REF#<subject>#<digest>     referrer of a subject
  UPLOADS#<hour>#<shard> <upload-id>                upload session, by expiry hour (TTL)
  SWEEP                  uploads                    last hour the upload sweep finished
  SWEEP                  gc                         last hour whose GC marks were all looked at
  GC#<hour>#<shard>      <target>#<registry>#…      something that may be garbage from that hour on
  DELETIONS              <registry>[/<repository>]  a registry or repository being deleted
  PULLED#<YYYY-MM-DD>    <registry>#<repo>#<digest> an image pulled that day (TTL): rescans start here
  LOGINFAIL#<username>   <window>                   failed logins of an account in a time window (TTL)
  PRINCIPALS             <type>#<name>              user, group or robot (robot names: <registry>+<name>)
  USAGE#<registry>       <YYYY-MM-DDTHH>#<repo|_>   hourly usage counters of a repository (_: the registry)
  USAGE#<registry>       EVENT#<event-id>           an event the meter has counted (TTL)
  USAGE#<registry>       STORED                     unique bytes the registry stores now (gauge)
  WEBHOOK#<registry>     SUB#<id>                   webhook subscription (url, event types, secret)
  WEBHOOK#<registry>#<id> <event time>#<event id>   delivery of one event to one subscription (TTL)
  AUDIT#<registry|_>#<YYYY-MM-DD> <time>#<event id> audit record of one event (TTL; _: events of no registry)
  AUDITDAY#<YYYY-MM-DD>  <registry|_>               a partition holding audit records that day (TTL)

S3 (one bucket):
  <registry>/blobs/data/<upload-id>        blob bytes, committed in place (no copy)
  <registry>/manifests/<push-id>            manifest bytes (one object per first push into a repository)
  <registry>/manifests/sha256/<hex>         manifest bytes of manifests pushed before per-push keys
  _uploads/<upload-id>/carry/<offset>-<n>   chunk bytes waiting to reach the 5 MiB part minimum
"""
from __future__ import annotations

from datetime import datetime, timezone

REGISTRIES_PK = "REGISTRIES"
META_SK = "META"


PRINCIPALS_PK = "PRINCIPALS"


def principal_sk(ptype: str, name: str) -> str:
    return f"{ptype}#{name}"


def webhooks_pk(registry: str) -> str:
    return f"WEBHOOK#{registry}"


def webhook_sk(webhook_id: str) -> str:
    return f"SUB#{webhook_id}"


def deliveries_pk(registry: str, webhook_id: str) -> str:
    return f"WEBHOOK#{registry}#{webhook_id}"


def delivery_sk(event_time: datetime, event_id: str) -> str:
    # Fixed-width UTC time first: the log sorts by event time, and a retry lands on the same key.
    return f"{event_time.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{event_id}"


def registry_sk(registry: str) -> str:
    return f"REG#{registry}"


def registry_pk(registry: str) -> str:
    return f"REG#{registry}"


def repository_sk(repository: str) -> str:
    return f"REPO#{repository}"


def repo_pk(registry: str, repository: str) -> str:
    return f"REPO#{registry}/{repository}"


def blob_sk(digest: str) -> str:
    return f"BLOB#{digest}"


def manifest_sk(digest: str) -> str:
    return f"MAN#{digest}"


def tag_sk(tag: str) -> str:
    return f"TAG#{tag}"


def referrer_prefix(subject: str) -> str:
    return f"REF#{subject}#"


def referrer_sk(subject: str, digest: str) -> str:
    return f"{referrer_prefix(subject)}{digest}"


UPLOAD_SHARDS = "0123456789abcdef"


def new_upload_id(expiry_hour: int, unique_hex: str) -> str:
    """An upload id names its partition: the hour it expires in and a shard (its first hex
    digit), so a sweep finds expired sessions by Query, hour by hour, without a Scan."""
    return f"{expiry_hour}-{unique_hex}"


def upload_pk(upload_id: str) -> str | None:
    hour, _, unique = upload_id.partition("-")
    if not hour.isdigit() or not unique or unique[0] not in UPLOAD_SHARDS:
        return None
    return uploads_pk(int(hour), unique[0])


def uploads_pk(expiry_hour: int, shard: str) -> str:
    return f"UPLOADS#{expiry_hour}#{shard}"


SWEEP_PK = "SWEEP"
REGISTRY_BYTES_SK = "BYTES"
DELETIONS_PK = "DELETIONS"
GC_SHARDS = "0123456789abcdef"


def gc_pk(hour: int, shard: str) -> str:
    return f"GC#{hour}#{shard}"


def gc_sk(target: str, registry: str, repository: str | None, digest: str | None, key: str | None) -> str:
    # Unique per thing, so marking it twice in an hour writes one item.
    return "#".join((target, registry, repository or "", digest or "", key or ""))


def deletion_sk(registry: str, repository: str | None = None) -> str:
    return f"{registry}/{repository}" if repository else registry


def login_failures_pk(username: str) -> str:
    return f"LOGINFAIL#{username.lower()[:256]}"


def pulled_pk(day: str) -> str:
    return f"PULLED#{day}"


def pulled_sk(registry: str, repository: str, digest: str) -> str:
    return f"{registry}#{repository}#{digest}"


def manifest_object_key(registry: str, push_id: str) -> str:
    return f"{registry}/manifests/{push_id}"


def blob_data_key(registry: str, upload_id: str) -> str:
    return f"{registry}/blobs/data/{upload_id}"


def manifest_key(registry: str, digest: str) -> str:
    algorithm, _, encoded = digest.partition(":")
    return f"{registry}/manifests/{algorithm}/{encoded}"


def carry_key(upload_id: str, offset: int, token: str) -> str:
    # Unique per write: a request that loses the race on the session cannot clobber the winner's bytes.
    return f"_uploads/{upload_id}/carry/{offset}-{token}"


def strip(prefix: str, value: str) -> str:
    return value[len(prefix):] if value.startswith(prefix) else value


USAGE_TOTAL = "_"  # the registry-wide row of an hour ('_' is no repository name)
USAGE_STORED_SK = "STORED"


def usage_pk(registry: str) -> str:
    return f"USAGE#{registry}"


def usage_hour_prefix(hour: datetime) -> str:
    # `hour` is UTC. Hours sort before EVENT#/STORED (digits < letters), so a range of sort
    # keys below a prefix holds only hour rows.
    return f"{hour:%Y-%m-%dT%H}#"


def usage_sk(hour: datetime, repository: str | None) -> str:
    return usage_hour_prefix(hour) + (repository or USAGE_TOTAL)


def usage_event_sk(event_id: str) -> str:
    return f"EVENT#{event_id}"


AUDIT_NO_REGISTRY = "_"  # the partition of logins and principal changes ('_' is no registry name)


def audit_day(moment: datetime) -> str:
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d}"


def audit_pk(partition: str, day: str) -> str:
    return f"AUDIT#{partition}#{day}"


def audit_time(moment: datetime) -> str:
    # Fixed width, UTC: string order is time order, within a day and across partitions.
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def audit_sk(moment: datetime, event_id: str) -> str:
    return f"{audit_time(moment)}#{event_id}"


def audit_days_pk(day: str) -> str:
    return f"AUDITDAY#{day}"
