"""The consumers of domain events, and how one SQS batch of events is processed.

Each consumer has its own queue (`<prefix>-<name>`, with a dead-letter queue after
MAX_RECEIVES) and a plain function `handle(event, services)` whose effect is idempotent
on `event.id`. Around it, powertools idempotency (DynamoDB persistence, in the one
table) makes a redelivered event a no-op and keeps two concurrent deliveries of one
event from both running. A failing event is reported as a partial batch failure and
made visible again after an exponential back-off; after MAX_RECEIVES receives SQS moves
it to the dead-letter queue, from where `moorage events redrive` replays it.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Callable

from .model import Event, EventError

log = logging.getLogger("moorage.events")
MAX_RECEIVES = 5
BACKOFF_BASE_S = 2
BACKOFF_MAX_S = 900
IDEMPOTENCY_TTL_S = 15 * 24 * 3600  # longer than a queue keeps a message (14 days), redrives included


@dataclass(frozen=True)
class Consumer:
    name: str
    handler: str  # "module:function", imported on first use (keeps `import app` light)
    types: frozenset[str] | None = None  # the event types it wants; None: all
    # How long a received message stays hidden from other receivers: longer than the
    # longest run of the handler, or a slow run is delivered a second time meanwhile.
    visibility_timeout_s: int = 180

    def wants(self, event_type: str) -> bool:
        return self.types is None or event_type in self.types

    def function(self) -> Callable[[Event, object], None]:
        module, _, name = self.handler.partition(":")
        return getattr(importlib.import_module(module), name)


METER_TYPES = frozenset({"manifest.pushed", "artifact.pulled", "blob.uploaded", "blob.stored", "blob.deleted",
                         "blob.linked", "blob.unlinked", "scan.completed", "access.denied", "login.failed"})
SCAN_TYPES = frozenset({"manifest.pushed", "scan.requested", "vulndb.updated"})
CONSUMERS: tuple[Consumer, ...] = (
    Consumer("audit", "chalicelib.events.audit:record"),
    Consumer("scan", "chalicelib.events.scan:handle", SCAN_TYPES, visibility_timeout_s=960),
    Consumer("meter", "chalicelib.metering.usage:record", METER_TYPES),
    Consumer("webhooks", "chalicelib.events.webhooks:deliver"),
)


def queue_name(prefix: str, consumer: str) -> str:
    return f"{prefix}-{consumer}"


def dead_letter_queue_name(prefix: str, consumer: str) -> str:
    return f"{prefix}-{consumer}-dlq"


def consumer(name: str) -> Consumer:
    return next(c for c in CONSUMERS if c.name == name)


def process_batch(chosen: Consumer, records: list[dict], services, sqs=None, context=None) -> dict:
    """One SQS batch for a consumer -> the partial batch response Lambda expects. With `sqs`,
    failed messages are delayed by the back-off; with the Lambda `context`, an in-progress
    idempotency record expires with the invocation (a crashed run does not block retries)."""
    name = chosen.name
    run = _idempotent(chosen, services, context)
    failures = []
    for record in records:
        try:
            event = Event.from_json(record["body"])
            run(event=event.to_json(), event_id=event.id)
        except EventError as error:
            log.error("poisoned message on %s: %s", name, error, extra={"message_id": record.get("messageId")})
            failures.append(record)
        except Exception:
            log.exception("consumer %s failed", name, extra={"message_id": record.get("messageId")})
            failures.append(record)
    if sqs is not None:
        for record in failures:
            _back_off(sqs, record)
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in failures]}


def backoff_seconds(receive_count: int) -> int:
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S ** max(1, receive_count))


def _back_off(sqs, record: dict) -> None:
    count = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
    try:
        sqs.change_message_visibility(QueueUrl=_queue_url(sqs, record), ReceiptHandle=record["receiptHandle"],
                                      VisibilityTimeout=backoff_seconds(count))
    except Exception:  # the queue's own visibility timeout applies instead
        log.warning("could not delay the retry of %s", record.get("messageId"))


def _queue_url(sqs, record: dict) -> str:
    _, _, _, _, account, name = record["eventSourceARN"].split(":", 5)  # arn:aws:sqs:<region>:<account>:<name>
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


_RUNNERS: dict[tuple[str, int], Callable] = {}


def _idempotent(chosen: Consumer, services, context=None) -> Callable:
    """chosen.function wrapped by powertools idempotency, keyed on the event id."""
    key = (chosen.name, id(services))
    if key not in _RUNNERS:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        persistence = DynamoDBPersistenceLayer(
            table_name=services.settings.table_name, key_attr="pk", sort_key_attr="sk",
            static_pk_value=f"IDEMPOTENCY#{chosen.name}", expiry_attr="ttl",
            boto3_client=services.aws.client("dynamodb"))
        config = IdempotencyConfig(event_key_jmespath="event_id", expires_after_seconds=IDEMPOTENCY_TTL_S,
                                   raise_on_no_idempotency_key=True)
        function = chosen.function()

        @idempotent_function(data_keyword_argument="payload", persistence_store=persistence, config=config)
        def run_once(payload: dict) -> dict:
            function(Event.from_json(payload["event"]), services)
            return {"done": payload["event_id"]}

        run_once.config = config
        _RUNNERS[key] = run_once
    run_once = _RUNNERS[key]
    if context is not None:
        run_once.config.register_lambda_context(context)
    return lambda event, event_id: run_once(payload={"event": event, "event_id": event_id})
