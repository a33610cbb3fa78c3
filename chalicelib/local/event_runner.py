"""Plays Lambda's event source mappings locally: polls the embedded table's stream and the
SQS queues, and calls the app's `on_dynamodb_record` / `on_sqs_message` handlers with the
event shapes Lambda sends, as the mappings in infra/ would (ReportBatchItemFailures).

* Stream: a batch whose handler raises is retried from the same position after a pause
  (Lambda retries until it succeeds or the records age out).
* SQS: messages the handler reports as failed (or all, when it raises) are left on the
  queue; SQS makes them visible again and, after the redrive policy's count, moves them
  to the dead-letter queue.
"""
from __future__ import annotations

import logging
import os
import signal
import threading

from .events import LambdaContext

log = logging.getLogger("moorage.events")
STREAM_BATCH = 100
IDLE_PAUSE_S = 0.2
RETRY_PAUSE_S = 1.0
# `moorage serve` runs the runner in a process of its own, as Lambda runs consumers apart from
# the API function, at a lower CPU priority: on a small machine a scan or a burst of audit
# records waits for a lull instead of slowing the requests that caused them.
NICENESS = 10


def sqs_record(message: dict, queue_arn: str, region: str) -> dict:
    """An SQS message as Lambda hands it to a function."""
    return {
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "attributes": message.get("Attributes", {}), "md5OfBody": message.get("MD5OfBody", ""),
        "messageAttributes": {k: {"stringValue": v.get("StringValue"), "dataType": v.get("DataType", "String"),
                                  "stringListValues": [], "binaryListValues": []}
                              for k, v in (message.get("MessageAttributes") or {}).items()},
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region,
    }


class EventRunner:
    def __init__(self, app, aws, settings):
        from chalice.app import DynamoDBEventConfig, SQSEventConfig

        self._app, self._aws, self._settings = app, aws, settings
        self._streams = [s for s in app.event_sources if isinstance(s, DynamoDBEventConfig)]
        self._queues = [s for s in app.event_sources if isinstance(s, SQSEventConfig)]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for source in self._streams:
            self._spawn(self._poll_stream, source, f"stream-{source.name}")
        for source in self._queues:
            self._spawn(self._poll_queue, source, f"sqs-{source.name}")

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target, source, name: str) -> None:
        thread = threading.Thread(target=self._guard, args=(target, source), name=f"moorage-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _guard(self, target, source) -> None:
        while not self._stop.is_set():
            try:
                target(source)
            except Exception:  # storage restarting, a handler bug: keep the runner alive
                log.exception("event source %s failed; retrying", source.name)
                self._stop.wait(RETRY_PAUSE_S)

    # ---- the table's stream -------------------------------------------------------------

    def _poll_stream(self, source) -> None:
        streams = self._aws.client("dynamodbstreams")
        table = self._aws.client("dynamodb").describe_table(TableName=self._settings.table_name)["Table"]
        arn = table["LatestStreamArn"]
        handler = self._app.handler_map[source.name]
        iterators = {}
        while not self._stop.is_set():
            for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                if shard["ShardId"] not in iterators:
                    iterators[shard["ShardId"]] = streams.get_shard_iterator(
                        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            busy = False
            for shard_id, iterator in list(iterators.items()):
                if iterator is None:
                    continue
                answer = streams.get_records(ShardIterator=iterator, Limit=STREAM_BATCH)
                records = [{**r, "eventSourceARN": arn} for r in answer.get("Records", [])]
                if records:
                    busy = True
                    try:
                        handler({"Records": lambda_stream_records(records)}, LambdaContext(f"stream-{shard_id}"))
                    except Exception:
                        log.exception("stream handler %s failed; retrying the batch", source.name)
                        self._stop.wait(RETRY_PAUSE_S)
                        continue  # same iterator: the same records again
                iterators[shard_id] = answer.get("NextShardIterator")
            if not busy:
                self._stop.wait(IDLE_PAUSE_S)

    # ---- SQS queues ---------------------------------------------------------------------

    def _poll_queue(self, source) -> None:
        sqs = self._aws.client("sqs")
        url = sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        handler = self._app.handler_map[source.name]
        while not self._stop.is_set():
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, source.batch_size),
                                           WaitTimeSeconds=1, AttributeNames=["All"],
                                           MessageAttributeNames=["All"]).get("Messages", [])
            if not messages:
                continue
            records = [sqs_record(m, arn, self._settings.region) for m in messages]
            try:
                result = handler({"Records": records}, LambdaContext(f"sqs-{source.name}")) or {}
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            except Exception:
                log.exception("queue handler %s failed; the batch stays on the queue", source.name)
                continue
            done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages) if m["MessageId"] not in failed]
            if done:
                sqs.delete_message_batch(QueueUrl=url, Entries=done)


def lambda_stream_records(records: list[dict]) -> list[dict]:
    """boto3 parses ApproximateCreationDateTime into a datetime; Lambda sends epoch seconds."""
    shaped = []
    for record in records:
        dynamodb = dict(record.get("dynamodb") or {})
        created = dynamodb.get("ApproximateCreationDateTime")
        if hasattr(created, "timestamp"):
            dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
        shaped.append({**record, "dynamodb": dynamodb, "eventSource": "aws:dynamodb"})
    return shaped


def main() -> None:
    """The event runner as `moorage serve` starts it: its own process, the same app and
    environment as the gateway; it stops on SIGTERM/SIGINT or when its parent goes away."""
    os.nice(NICENESS)
    parent = os.getppid()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())

    import app as function  # the same module Lambda imports
    from chalicelib.services import default_services

    services = default_services()
    runner = EventRunner(function.app, services.aws, services.settings)
    runner.start()
    while not stopping.wait(1.0):
        if os.getppid() != parent:
            break
    runner.stop()
    services.publisher.flush()


if __name__ == "__main__":
    main()
