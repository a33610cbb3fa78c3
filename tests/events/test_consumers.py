"""Consumers: idempotent on the event id (powertools idempotency over the one table),
partial batch failures with back-off, dead letters after MAX_RECEIVES, and redrive."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import boto3
import pytest

from chalicelib.events import consumers, queues
from chalicelib.events.bus import Bus
from chalicelib.events.consumers import Consumer, process_batch
from chalicelib.events.model import Event, Target
from chalicelib.local.event_runner import sqs_record
from chalicelib.local.serve import ensure_event_queues
from tests.moto_services import moto_services

EFFECTS: Counter = Counter()  # event id -> times the effect happened
FAILURES_LEFT: Counter = Counter()  # event id -> calls that still fail
FLAKY = Consumer("audit", "tests.events.test_consumers:flaky")  # rides on the audit queue


def flaky(event: Event, services) -> None:
    if FAILURES_LEFT[event.id] > 0:
        FAILURES_LEFT[event.id] -= 1
        raise RuntimeError("the consumer's store is down")
    EFFECTS[event.id] += 1


@pytest.fixture
def world(monkeypatch):
    EFFECTS.clear()
    FAILURES_LEFT.clear()
    consumers._RUNNERS.clear()
    with moto_services() as services:
        sqs, s3 = boto3.client("sqs", region_name="us-east-1"), boto3.client("s3", region_name="us-east-1")
        ensure_event_queues(sqs, s3, services.settings)
        yield services, sqs


def event(n: int, event_type: str = "tag.updated") -> Event:
    return Event(f"e{n}", event_type, datetime(2026, 1, 1, tzinfo=timezone.utc),
                 target=Target("library", "app", "1", "sha256:ab"))


def receive(sqs, name: str) -> list[dict]:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"],
                                   MessageAttributeNames=["All"]).get("Messages", [])
    return [sqs_record(m, arn, "us-east-1") for m in messages]


def test_the_bus_sends_each_event_to_the_consumers_that_want_it(world):
    services, sqs = world
    Bus(sqs, "moorage").send([event(1, "tag.updated"), event(2, "manifest.pushed")])
    assert sorted(r["messageAttributes"]["type"]["stringValue"] for r in receive(sqs, "moorage-audit")) == [
        "manifest.pushed", "tag.updated"]
    assert [Event.from_json(r["body"]).id for r in receive(sqs, "moorage-meter")] == ["e2"]  # meter: no tags


def test_a_consumer_that_fails_twice_then_succeeds_has_its_effect_once(world):
    services, _ = world
    FAILURES_LEFT["e1"] = 2
    record = {"messageId": "m1", "body": event(1).to_json()}
    assert process_batch(FLAKY, [record], services) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert process_batch(FLAKY, [record], services)["batchItemFailures"]
    assert process_batch(FLAKY, [record], services) == {"batchItemFailures": []}
    assert process_batch(FLAKY, [record], services) == {"batchItemFailures": []}  # redelivered: a no-op
    assert EFFECTS == Counter({"e1": 1})


def test_one_failing_event_does_not_fail_its_batch_neighbours(world):
    services, _ = world
    FAILURES_LEFT["e2"] = 1
    records = [{"messageId": f"m{n}", "body": event(n).to_json()} for n in (1, 2, 3)]
    assert process_batch(FLAKY, records, services) == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert EFFECTS == Counter({"e1": 1, "e3": 1})


def test_failures_back_off_exponentially(world):
    services, sqs = world
    FAILURES_LEFT["e1"] = 1
    Bus(sqs, "moorage").send([event(1)])
    [record] = receive(sqs, "moorage-audit")
    process_batch(FLAKY, [record], services, sqs)
    assert receive(sqs, "moorage-audit") == []  # hidden for the back-off, not redelivered at once
    assert consumers.backoff_seconds(1) == 2 and consumers.backoff_seconds(4) == 16
    assert consumers.backoff_seconds(30) == consumers.BACKOFF_MAX_S


def test_a_poisoned_message_ends_in_the_dead_letters_and_redrive_replays_it(world):
    services, sqs = world
    url = sqs.get_queue_url(QueueName="moorage-audit")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="{not an event")
    FAILURES_LEFT["e7"] = 10 ** 6  # a consumer bug that lasts
    Bus(sqs, "moorage").send([event(7)])
    for _ in range(consumers.MAX_RECEIVES + 1):
        records = receive(sqs, "moorage-audit")
        result = process_batch(FLAKY, records, services)  # no back-off: the test should not wait
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        assert failed == {r["messageId"] for r in records}
        for r in records:  # as Lambda leaves failed messages: visible again after the timeout
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=r["receiptHandle"], VisibilityTimeout=0)
    status = {s.consumer: s for s in queues.status(sqs, "moorage")}
    assert status["audit"].dead_letters == 2 and status["audit"].waiting == 0
    FAILURES_LEFT.clear()  # the fix is deployed
    assert queues.redrive(sqs, "moorage", "audit") == 2
    records = receive(sqs, "moorage-audit")
    result = process_batch(FLAKY, records, services)
    assert len(result["batchItemFailures"]) == 1  # the garbage stays garbage
    assert EFFECTS == Counter({"e7": 1})
