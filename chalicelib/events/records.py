"""Source records to domain events: one DynamoDB stream record or one S3 notification
record becomes at most one Event (None: a change nobody consumes, such as an upload
session advancing or a consumer's own bookkeeping)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Mapping
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from .model import Actor, Event, Target

# Attributes every write touches; a MODIFY that changes only these is no domain change
# (deletes first stamp the deleter into updated_by, so the REMOVE record can say who).
_BOOKKEEPING = frozenset({"updated_by", "updated_at", "version"})
_TTL_PRINCIPAL = "dynamodb.amazonaws.com"


def from_stream_record(raw: Mapping) -> Event | None:
    record = DynamoDBRecord(dict(raw))
    name = record.event_name.name if record.event_name else ""
    new, old = record.dynamodb.new_image or {}, record.dynamodb.old_image or {}
    image = old if name == "REMOVE" else new
    kind = image.get("kind")
    mapper = _MAPPERS.get(kind)
    if mapper is None or name not in ("INSERT", "MODIFY", "REMOVE"):
        return None
    if name == "MODIFY" and _changed(old, new) <= _BOOKKEEPING:
        return None
    found = mapper(name, new, old)
    if found is None:
        return None
    event_type, target, details = found
    return Event(id=f"ddb:{record.event_id}", type=event_type, time=_time(record, image),
                 actor=_actor(record, image), target=target, details=details)


def from_s3_record(raw: Mapping) -> Event | None:
    """An S3 ObjectCreated notification for blob bytes (`<registry>/blobs/data/<upload>`)."""
    if not str(raw.get("eventName", "")).startswith("ObjectCreated:"):
        return None
    s3 = raw.get("s3") or {}
    bucket, obj = (s3.get("bucket") or {}).get("name", ""), s3.get("object") or {}
    key = unquote_plus(str(obj.get("key", "")))
    registry, _, rest = key.partition("/")
    if not rest.startswith("blobs/data/") or registry.startswith("_"):
        return None
    when = datetime.fromisoformat(str(raw.get("eventTime", "")).replace("Z", "+00:00")) \
        if raw.get("eventTime") else datetime.now(timezone.utc)
    return Event(id=f"s3:{bucket}/{key}#{obj.get('sequencer', '')}", type="blob.uploaded", time=when,
                 actor=Actor("system:storage"), target=Target(registry=registry),
                 details={"bytes": int(obj.get("size") or 0), "key": key})


# ---- per item kind: (record name, new image, old image) -> (type, target, details) | None ----

def _registry(name, new, old):
    image = old if name == "REMOVE" else new
    target = Target(registry=image.get("name"))
    if name == "INSERT":
        return "registry.created", target, {"description": new.get("description", "")}
    if name == "REMOVE":
        return "registry.deleted", target, {}
    if new.get("resource_policy") != old.get("resource_policy"):
        return "policy.changed", target, {"of": "registry", "policy": "resource"}
    if new.get("policy") != old.get("policy"):
        return "policy.changed", target, {"of": "registry", "policy": "content"}
    return "registry.updated", target, {"changed": sorted(_changed(old, new) - _BOOKKEEPING - {"revision"})}


def _repository(name, new, old):
    image = old if name == "REMOVE" else new
    target = Target(registry=_after(image["pk"], "REG#"), repository=_after(image["sk"], "REPO#"))
    if name == "MODIFY":
        # last_push and last_pull move with every push and pull; events say those already.
        changed = _changed(old, new) - _BOOKKEEPING - {"last_push", "last_pull", "revision"}
        if "policy" in changed:
            return "policy.changed", target, {"of": "repository", "policy": "content"}
        return ("repository.updated", target, {"changed": sorted(changed)}) if changed else None
    return ("repository.created" if name == "INSERT" else "repository.deleted"), target, {}


def _manifest(name, new, old):
    if name == "MODIFY":
        return _scan_completed(new, old)  # else last_pull moved: artifact.pulled says it already
    image = old if name == "REMOVE" else new
    fields = image.get("manifest") or {}
    target = _repo_target(image["pk"], digest=fields.get("digest"))
    details = {"media_type": fields.get("media_type"), "bytes": int(fields.get("size") or 0)}
    for optional in ("artifact_type", "subject"):
        if fields.get(optional):
            details[optional] = fields[optional]
    return ("manifest.pushed" if name == "INSERT" else "manifest.deleted"), target, details


def _scan_completed(new, old):
    """A scan's summary landing on its manifest is the scan's completion (once per scan: a
    later pull or a redelivered record does not change the summary again)."""
    if new.get("scan") == old.get("scan") or not new.get("scan"):
        return None
    try:
        summary = json.loads(new["scan"])
    except (TypeError, ValueError):
        return None
    if summary.get("status") not in ("completed", "failed"):
        return None  # queued or running: not done yet
    target = _repo_target(new["pk"], digest=(new.get("manifest") or {}).get("digest"))
    details = {k: summary[k] for k in ("status", "severity_counts", "fixable", "secrets", "vulndb", "rescan",
                                       "reason") if k in summary}
    return "scan.completed", target, details


def _tag(name, new, old):
    image = old if name == "REMOVE" else new
    digest = (image.get("manifest") or {}).get("digest")
    target = _repo_target(image["pk"], tag=_after(image["sk"], "TAG#"), digest=digest)
    if name == "REMOVE":
        return "tag.deleted", target, {}
    previous = (old.get("manifest") or {}).get("digest") if name == "MODIFY" else None
    if name == "MODIFY" and previous == digest:
        return None
    return "tag.updated", target, {"previous_digest": previous} if previous else {}


def _blob(name, new, old):
    if name == "MODIFY":
        return None
    image = old if name == "REMOVE" else new
    target = Target(registry=_after(image["pk"], "REG#"), digest=_after(image["sk"], "BLOB#"))
    return ("blob.stored" if name == "INSERT" else "blob.deleted"), target, {"bytes": int(image.get("size") or 0)}


def _blob_link(name, new, old):
    if name == "MODIFY":
        return None
    image = old if name == "REMOVE" else new
    target = _repo_target(image["pk"], digest=_after(image["sk"], "BLOB#"))
    return ("blob.linked" if name == "INSERT" else "blob.unlinked"), target, {"bytes": int(image.get("size") or 0)}


def _principal(name, new, old):
    image = old if name == "REMOVE" else new
    details = {"type": image.get("ptype"), "name": image.get("name"),
               "change": {"INSERT": "created", "MODIFY": "updated", "REMOVE": "deleted"}[name]}
    target = Target(registry=image.get("registry"))
    if name == "MODIFY":
        changed = _changed(old, new) - _BOOKKEEPING
        details["changed"] = sorted(changed - {"secret_hash"}) + (["password"] if "secret_hash" in changed else [])
        if changed & {"policies", "roles"}:
            return "policy.changed", target, {**details, "of": image.get("ptype")}
    return "principal.changed", target, details


_MAPPERS = {"registry": _registry, "repository": _repository, "manifest": _manifest, "tag": _tag,
            "blob": _blob, "blob_link": _blob_link, "principal": _principal}


# ---- helpers ---------------------------------------------------------------------------------

def _changed(old: Mapping, new: Mapping) -> set[str]:
    return {k for k in set(old) | set(new) if old.get(k) != new.get(k)}


def _after(value: str, prefix: str) -> str:
    return value[len(prefix):] if value.startswith(prefix) else value


def _repo_target(pk: str, tag: str | None = None, digest: str | None = None) -> Target:
    registry, _, repository = _after(pk, "REPO#").partition("/")
    return Target(registry=registry, repository=repository, tag=tag, digest=digest)


def _actor(record: DynamoDBRecord, image: Mapping) -> Actor:
    identity = record.user_identity or {}
    if identity.get("principalId") == _TTL_PRINCIPAL:
        return Actor("system:expiry")
    return Actor(str(image.get("updated_by") or "system"))


def _time(record: DynamoDBRecord, image: Mapping) -> datetime:
    stamped = image.get("updated_at")
    if isinstance(stamped, str) and record.event_name and record.event_name.name != "REMOVE":
        try:
            return datetime.fromisoformat(stamped.replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            pass
    approximate = record.dynamodb.approximate_creation_date_time
    return datetime.fromtimestamp(float(approximate), timezone.utc) if approximate else datetime.now(timezone.utc)
