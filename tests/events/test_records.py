"""Source records -> domain events: Lambda-shaped payloads (tests/events/payloads/) and the
records moto's stream really produces for registry writes."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest

from chalicelib.events import dispatch
from chalicelib.events.model import Actor, Event, EventError, Target
from chalicelib.events.records import from_s3_record, from_stream_record
from chalicelib.local.event_runner import lambda_stream_records
from chalicelib.oci import Digest, RepoName, Tag
from tests.moto_services import moto_services

PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


def test_a_retag_is_tag_updated_with_the_previous_digest():
    event = from_stream_record(payload("stream_tag_modify.json")["Records"][0])
    assert event.type == "tag.updated" and event.id == "ddb:c81e728d9d4c2f636f067f89cc14862c"
    assert event.target == Target("acme", "team/app", "1.0", "sha256:bbbb")
    assert event.details == {"previous_digest": "sha256:aaaa"}
    assert event.actor == Actor("robot:acme+ci")
    assert event.time == datetime(2025, 12, 4, 0, 0, 0, 123456, tzinfo=timezone.utc)


def test_a_ttl_removal_is_done_by_the_system_not_the_last_writer():
    event = from_stream_record(payload("stream_tag_modify.json")["Records"][1])
    assert event.type == "tag.deleted" and event.actor.principal == "system:expiry"
    assert event.time == datetime.fromtimestamp(1764810000, timezone.utc)


def test_s3_notifications_through_sqs_become_blob_uploaded_and_ignore_the_rest():
    records = payload("sqs_s3_notification.json")["Records"]
    notifications = json.loads(records[0]["body"])["Records"]
    event = from_s3_record(notifications[0])
    assert event.type == "blob.uploaded" and event.target.registry == "acme"
    assert event.details == {"bytes": 73400320, "key": "acme/blobs/data/489123-0f3a9c"}
    assert event.id == "s3:moorage-prod-blobs/acme/blobs/data/489123-0f3a9c#0A1B2C3D4E5F678901"
    assert from_s3_record(notifications[1]) is None  # manifest bytes: the table says it already

    class Sent:
        events: list = []

        def send(self, events):
            self.events.extend(events)

    services = type("S", (), {"events": Sent()})()
    assert dispatch.storage_changes(records, services) == {"batchItemFailures": []}  # the TestEvent too
    assert [e.type for e in services.events.events] == ["blob.uploaded"]


def test_a_bookkeeping_only_modify_is_no_event():
    record = payload("stream_tag_modify.json")["Records"][0]
    record["dynamodb"]["NewImage"]["manifest"] = record["dynamodb"]["OldImage"]["manifest"]
    assert from_stream_record(record) is None


def test_unknown_item_kinds_are_ignored():
    record = payload("stream_tag_modify.json")["Records"][0]
    for image in ("NewImage", "OldImage"):
        record["dynamodb"][image]["kind"] = {"S": "upload"}
    assert from_stream_record(record) is None
    del record["dynamodb"]["NewImage"]["kind"]  # e.g. a powertools idempotency record
    assert from_stream_record(record) is None


def test_event_json_round_trips_and_refuses_garbage():
    event = Event("x1", "artifact.pulled", datetime(2026, 1, 1, tzinfo=timezone.utc),
                  Actor("user:a", "10.0.0.1", "skopeo"), Target("acme", "app", "1", "sha256:ab"),
                  details={"n": 1})
    assert Event.from_json(event.to_json()) == event
    for bad in ("", "[]", "{}", '{"id": "x", "type": "nope", "time": "2026-01-01T00:00:00+00:00"}',
                '{"id": "x", "type": "tag.updated", "time": "yesterday"}',
                '{"id": "x", "type": "tag.updated", "time": "2026-01-01T00:00:00"}'):
        with pytest.raises(EventError):
            Event.from_json(bad)


def _stream_records(services) -> list[dict]:
    client = boto3.client("dynamodbstreams", region_name="us-east-1")
    arn = boto3.client("dynamodb", region_name="us-east-1").describe_table(
        TableName=services.settings.table_name)["Table"]["LatestStreamArn"]
    records = []
    for shard in client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                             ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records += lambda_stream_records(client.get_records(ShardIterator=iterator, Limit=1000)["Records"])
    return records


def test_registry_writes_on_moto_stream_become_events_with_their_actor():
    with moto_services() as services:
        name = RepoName("library", "team/app")
        config = b"{}"
        upload = services.uploads.start(name, "user:alice")
        services.uploads.finish(name, upload.id, Digest.of(config), config, "user:alice")
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                                          "digest": str(Digest.of(config)), "size": 2}, "layers": []}).encode()
        put = services.manifests.put(name, Tag("1"), "application/vnd.oci.image.manifest.v1+json", manifest,
                                     "user:alice")
        services.manifests.delete(name, Tag("1"), "user:bob")
        events = [e for r in _stream_records(services) if (e := from_stream_record(r)) is not None]
    by_type = {e.type: e for e in events}
    assert {"registry.created", "repository.created", "blob.stored", "blob.linked", "manifest.pushed",
            "tag.updated", "tag.deleted"} <= set(by_type)
    assert by_type["manifest.pushed"].target == Target("library", "team/app", None, put.digest)
    assert by_type["manifest.pushed"].actor.principal == "user:alice"
    assert by_type["tag.deleted"].actor.principal == "user:bob"  # the deleter, stamped before the delete
    assert by_type["blob.stored"].details == {"bytes": 2}
    assert len({e.id for e in events}) == len(events)
