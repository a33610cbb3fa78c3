"""The dispatchers: storage changes in, domain events out to the consumer queues.

* The table's stream: a batch that cannot be fanned out raises, so Lambda (or the local
  runner) retries it from the same position; consumers are idempotent on the event id,
  so events of a retried batch that had already gone out change nothing twice.
* S3 notifications arrive through an SQS queue (`chalice package` cannot package
  on_s3_event); each message is a partial-batch item of its own.
"""
from __future__ import annotations

import json
import logging

from .model import Event
from .records import from_s3_record, from_stream_record

log = logging.getLogger("moorage.events")


def table_changes(records: list[dict], services) -> list[Event]:
    events = [event for record in records if (event := from_stream_record(record)) is not None]
    services.events.send(events)
    return events


def storage_changes(records: list[dict], services) -> dict:
    failures = []
    for record in records:
        try:
            body = json.loads(record["body"])
            notifications = body.get("Records", []) if isinstance(body, dict) else []
            events = [e for n in notifications if isinstance(n, dict) and (e := from_s3_record(n)) is not None]
            services.events.send(events)
        except json.JSONDecodeError:  # no notification at all: retrying cannot help
            log.warning("ignored a storage message that is not JSON", extra={"message_id": record.get("messageId")})
        except Exception:
            log.exception("storage notification not dispatched", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
