"""Operating the consumer queues: depths and dead letters (`moorage events status`), and
replaying dead letters after a fault is fixed (`moorage events redrive`)."""
from __future__ import annotations

from dataclasses import dataclass

from .consumers import CONSUMERS, dead_letter_queue_name, queue_name

REDRIVE_MAX = 10_000  # one call moves at most this many; run it again for more


@dataclass(frozen=True)
class QueueStatus:
    consumer: str
    waiting: int
    in_flight: int
    dead_letters: int


def _depth(sqs, name: str) -> tuple[int, int]:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def status(sqs, prefix: str) -> list[QueueStatus]:
    found = []
    for name in [c.name for c in CONSUMERS] + ["storage"]:
        waiting, in_flight = _depth(sqs, queue_name(prefix, name))
        dead, dead_in_flight = _depth(sqs, dead_letter_queue_name(prefix, name))
        found.append(QueueStatus(name, waiting, in_flight, dead + dead_in_flight))
    return found


def redrive(sqs, prefix: str, consumer: str, limit: int = REDRIVE_MAX) -> int:
    """Move dead letters back to the consumer's queue; returns how many moved. A message is
    deleted from the dead-letter queue only after it was sent again, so a crash midway
    duplicates at worst (consumers are idempotent) and never loses one."""
    source = sqs.get_queue_url(QueueName=dead_letter_queue_name(prefix, consumer))["QueueUrl"]
    target = sqs.get_queue_url(QueueName=queue_name(prefix, consumer))["QueueUrl"]
    moved = 0
    while moved < limit:
        messages = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       VisibilityTimeout=30, MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            break
        entries = [{"Id": str(i), "MessageBody": m["Body"], "MessageAttributes": m.get("MessageAttributes", {})}
                   for i, m in enumerate(messages)]
        sent = sqs.send_message_batch(QueueUrl=target, Entries=entries)
        ok = {e["Id"] for e in sent.get("Successful", [])}
        done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages) if str(i) in ok]
        if done:
            sqs.delete_message_batch(QueueUrl=source, Entries=done)
        moved += len(done)
        if len(done) < len(messages):
            break  # the rest become visible again in the dead-letter queue
    return moved
