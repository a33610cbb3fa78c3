"""The embedded storage's additions to moto: streaming multipart completion and snapshots."""
from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from chalicelib.local import storage


@pytest.fixture
def s3(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("s3")


def _multipart(s3, key: str, parts: list[bytes]) -> None:
    upload = s3.create_multipart_upload(Bucket="bkt", Key=key)["UploadId"]
    etags = [s3.upload_part(Bucket="bkt", Key=key, UploadId=upload, PartNumber=n, Body=data)["ETag"]
             for n, data in enumerate(parts, start=1)]
    s3.complete_multipart_upload(Bucket="bkt", Key=key, UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, start=1)]})


def test_snapshot_round_trip_keeps_multipart_objects(s3, tmp_path):
    snapshots = storage.Snapshots(tmp_path, storage._ReadWriteLock())
    s3.create_bucket(Bucket="bkt")
    parts = [b"a" * (5 << 20), b"b" * (5 << 20), b"tail"]
    _multipart(s3, "big", parts)
    s3.put_object(Bucket="bkt", Key="small", Body=b"hello")
    s3.put_object(Bucket="bkt", Key="gone", Body=b"x")
    s3.delete_object(Bucket="bkt", Key="gone")
    assert s3.get_object(Bucket="bkt", Key="big")["Body"].read() == b"".join(parts)
    snapshots.save()
    assert sorted(p.stat().st_size for p in (tmp_path / "objects").iterdir()) == [5, sum(map(len, parts))]

    with mock_aws():  # a fresh moto, as after a restart
        fresh = boto3.client("s3")
        storage.Snapshots(tmp_path, storage._ReadWriteLock()).load()
        assert fresh.get_object(Bucket="bkt", Key="big")["Body"].read() == b"".join(parts)
        assert fresh.get_object(Bucket="bkt", Key="small")["Body"].read() == b"hello"


def test_completion_checks_parts_like_s3(s3, tmp_path):
    storage.Snapshots(tmp_path, storage._ReadWriteLock())
    s3.create_bucket(Bucket="bkt")
    upload = s3.create_multipart_upload(Bucket="bkt", Key="k")["UploadId"]
    s3.upload_part(Bucket="bkt", Key="k", UploadId=upload, PartNumber=1, Body=b"short")
    etag = s3.upload_part(Bucket="bkt", Key="k", UploadId=upload, PartNumber=2, Body=b"x")["ETag"]
    with pytest.raises(s3.exceptions.ClientError, match="InvalidPart"):
        s3.complete_multipart_upload(Bucket="bkt", Key="k", UploadId=upload, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"0000"'}, {"PartNumber": 2, "ETag": etag}]})


def test_failed_transaction_leaves_no_trace(s3, tmp_path):
    from chalicelib.store.schema import ensure_table

    storage.atomic_dynamodb_writes()
    dynamodb = boto3.client("dynamodb")
    ensure_table(dynamodb, "t")
    item = lambda sk, v: {"pk": {"S": "p"}, "sk": {"S": sk}, "v": {"S": v}}  # noqa: E731
    dynamodb.put_item(TableName="t", Item=item("a", "old"))
    stream = dynamodb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    before = len(streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"])
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": item("a", "new")}},
            {"Put": {"TableName": "t", "Item": item("b", "new")}},
            {"Put": {"TableName": "t", "Item": item("c", "new"), "ConditionExpression": "attribute_exists(pk)"}},
        ])
    assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": "a"}})["Item"]["v"]["S"] == "old"
    assert "Item" not in dynamodb.get_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": "b"}})
    iterator = streams.get_shard_iterator(StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert len(streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]) == before


def test_etags_are_the_md5_of_what_was_written(s3, tmp_path):
    import hashlib

    storage._etag_as_written()
    storage.Snapshots(tmp_path, storage._ReadWriteLock())
    s3.create_bucket(Bucket="bkt")
    for body in (b"", b"small", b"x" * (9 << 20)):
        etag = s3.put_object(Bucket="bkt", Key="k", Body=body)["ETag"]
        assert etag == f'"{hashlib.md5(body).hexdigest()}"'
        assert s3.head_object(Bucket="bkt", Key="k")["ETag"] == etag
    parts = [b"a" * (5 << 20), b"tail"]
    _multipart(s3, "multi", parts)
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert s3.head_object(Bucket="bkt", Key="multi")["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"'


def test_joined_parts_read_across_part_boundaries_and_turn_plain_when_written():
    import tempfile

    parts = [b"a" * 10, b"b" * 5, b"c" * 7]
    buffers = []
    for data in parts:
        buffer = tempfile.SpooledTemporaryFile(max_size=4)
        buffer.write(data)
        buffers.append(buffer)
    joined = storage._JoinedParts(buffers, [len(p) for p in parts], 4)
    whole = b"".join(parts)
    assert joined.read() == whole
    joined.seek(8)
    assert joined.read(5) == whole[8:13] and joined.tell() == 13
    assert joined.read(100) == whole[13:] and joined.read(1) == b""
    assert joined.seek(-3, 2) == len(whole) - 3 and joined.read() == whole[-3:]
    joined.seek(0)
    joined.truncate()
    joined.write(b"new")
    joined.seek(0)
    assert joined.read() == b"new" and all(b.closed for b in buffers)
    joined.close()
    assert joined.closed


def test_object_stream_reads_a_piece_at_a_time():
    import io
    import threading

    class Key:
        lock = threading.Lock()
        _value_buffer = io.BytesIO(b"x" * (storage._RESPONSE_PIECE * 2 + 3))

    assert [len(piece) for piece in storage._ObjectStream(Key())] == [storage._RESPONSE_PIECE] * 2 + [3]


def test_objects_through_the_server_whole_ranged_and_after_a_restart(tmp_path, monkeypatch):
    import hashlib

    from moto.backends import get_backend

    from tests.local.test_fastpath import Wsgi

    for name, value in {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    lock = storage._ReadWriteLock()
    snapshots = storage.Snapshots(tmp_path, lock)
    s3 = Wsgi(storage.storage_app(snapshots, lock)).client("s3")
    try:
        s3.create_bucket(Bucket="bkt")
        parts = [bytes([n]) * (5 << 20) for n in range(2)] + [b"tail"]
        _multipart(s3, "big", parts)
        whole = b"".join(parts)
        assert s3.get_object(Bucket="bkt", Key="big")["Body"].read() == whole
        ranged = s3.get_object(Bucket="bkt", Key="big", Range=f"bytes={(5 << 20) - 2}-{(5 << 20) + 1}")
        assert ranged["Body"].read() == whole[(5 << 20) - 2:(5 << 20) + 2]
        assert s3.head_object(Bucket="bkt", Key="big")["ContentLength"] == len(whole)
        snapshots.save()
        get_backend("s3").reset()
        storage.Snapshots(tmp_path, lock).load()
        assert hashlib.sha256(s3.get_object(Bucket="bkt", Key="big")["Body"].read()).digest() == \
            hashlib.sha256(whole).digest()
        s3.put_object(Bucket="bkt", Key="big", Body=b"replaced")
        assert s3.get_object(Bucket="bkt", Key="big")["Body"].read() == b"replaced"
    finally:
        get_backend("s3").reset()


def test_in_process_moto_still_answers_object_reads_with_bytes(s3, tmp_path):
    lock = storage._ReadWriteLock()
    storage.storage_app(storage.Snapshots(tmp_path, lock), lock)  # installs the server's patches
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="k", Body=b"bytes")
    assert s3.get_object(Bucket="bkt", Key="k")["Body"].read() == b"bytes"


def test_only_changes_make_the_state_dirty():
    assert not storage._writes({"REQUEST_METHOD": "GET"})
    assert not storage._writes({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem"})
    assert not storage._writes({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "AmazonSQS.ReceiveMessage"})
    assert storage._writes({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"})
    assert storage._writes({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "AmazonSQS.DeleteMessageBatch"})
    assert storage._writes({"REQUEST_METHOD": "PUT"})  # S3 puts
    assert storage._writes({"REQUEST_METHOD": "POST"})  # S3 multipart calls


def test_a_snapshot_writes_object_files_before_it_stops_requests(s3, tmp_path, monkeypatch):
    lock = storage._ReadWriteLock()
    snapshots = storage.Snapshots(tmp_path, lock)
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="k", Body=b"x" * (6 << 20))
    copied_while_exclusive = []
    real = storage._object_file

    def watched(key, objects_dir):
        had_file = bool(getattr(key, "_moorage_file", None))
        path = real(key, objects_dir)
        if lock._writing and not had_file:
            copied_while_exclusive.append(path)
        return path

    monkeypatch.setattr(storage, "_object_file", watched)
    snapshots.save()
    assert not copied_while_exclusive
    assert [p.stat().st_size for p in (tmp_path / "objects").iterdir()] == [6 << 20]
