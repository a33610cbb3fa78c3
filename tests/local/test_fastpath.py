"""The embedded storage's fast path (chalicelib/local/fastpath.py) answers exactly as moto's full
request path does: the same scenario of DynamoDB and stream calls runs through both, each on a
fresh moto, and every answer (status, headers, JSON body) must match."""
from __future__ import annotations

import io
import json
import re
import threading
import zlib
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto.backends import get_backend
from moto.core.botocore_stubber import MockRawResponse

from chalicelib.local import fastpath, storage
from chalicelib.store.schema import ensure_table

KEY = {"pk": {"S": "p"}, "sk": {"S": "a"}}
EVERY_TYPE = {
    "pk": {"S": "p"}, "sk": {"S": "a"}, "s": {"S": "text é"}, "empty": {"S": ""}, "n": {"N": "12.50"},
    "b": {"B": b"\x00\xffbytes"}, "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02"]}, "null": {"NULL": True}, "yes": {"BOOL": True}, "no": {"BOOL": False},
    "m": {"M": {"inner": {"M": {"deep": {"L": [{"S": "l"}, {"N": "3"}, {"B": b"\x03"}, {"NULL": True}]}}},
                "e": {"M": {}}, "el": {"L": []}}},
}
# Values that change from one run to the next whatever the path (times, names and positions
# derived from the time the stream was created, and a stream record's SizeBytes, which moto
# measures on the record's JSON, time included; SQS message ids, receipt handles and times):
# drop them before comparing.
_VOLATILE_KEYS = {"eventID", "ApproximateCreationDateTime", "CreationRequestDateTime", "CreationDateTime",
                  "LatestStreamLabel", "StreamLabel", "ShardId", "StartingSequenceNumber", "SequenceNumber",
                  "ShardIterator", "NextShardIterator", "SizeBytes",
                  "MessageId", "ReceiptHandle", "SentTimestamp", "ApproximateFirstReceiveTimestamp"}
_STREAM_LABEL = re.compile(r"stream/[0-9T:.\-]+")


class Wsgi:
    """botocore clients whose requests go to a WSGI app in this process; every raw answer is kept."""

    def __init__(self, app):
        self.app = app
        self.answers: list[tuple[str, int, dict, bytes]] = []

    def client(self, service: str):
        client = boto3.client(service, region_name="us-east-1", endpoint_url="http://127.0.0.1:4566",
                              aws_access_key_id="moorage-local", aws_secret_access_key="x")
        client.meta.events.register("before-send", self._send)
        return client

    def _send(self, request, **_):
        url = urlsplit(request.url)
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else body.read()
        environ = {"REQUEST_METHOD": request.method, "PATH_INFO": url.path or "/", "QUERY_STRING": url.query,
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "4566", "SERVER_PROTOCOL": "HTTP/1.1",
                   "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
                   "HTTP_HOST": url.netloc, "CONTENT_LENGTH": str(len(body))}
        for name, value in request.headers.items():
            value = value.decode() if isinstance(value, bytes) else value
            if name.lower() == "content-type":
                environ["CONTENT_TYPE"] = value
            elif name.lower() != "content-length":
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        started = {}

        def start_response(status, headers, exc_info=None):
            started["status"], started["headers"] = int(status.split()[0]), headers

        content = b"".join(self.app(environ, start_response))
        target = dict(request.headers).get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        self.answers.append((target, started["status"], dict(started["headers"]), content))
        return AWSResponse(request.url, started["status"], dict(started["headers"]), MockRawResponse(content))


@pytest.fixture
def apps(tmp_path, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "moorage-local", "AWS_SECRET_ACCESS_KEY": "x",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}.items():
        monkeypatch.setenv(name, value)
    lock = storage._ReadWriteLock()
    snapshots = storage.Snapshots(tmp_path, lock)
    yield {"moto": storage.storage_app(snapshots, lock, fast=False), "fast": storage.storage_app(snapshots, lock)}
    _reset()


def _reset() -> None:
    for name in ("dynamodb", "dynamodbstreams", "sqs", "iam"):
        get_backend(name).reset()


def _scenario(wsgi: Wsgi) -> None:
    """The registry's kinds of calls, their failures included; every call's answer is recorded."""
    db, streams = wsgi.client("dynamodb"), wsgi.client("dynamodbstreams")
    errors = (db.exceptions.ClientError,)

    def attempt(call, **kwargs):
        try:
            call(**kwargs)
        except errors:
            pass  # the recorded answer is what counts

    db.put_item(TableName="t", Item=EVERY_TYPE, ReturnConsumedCapacity="TOTAL")
    db.put_item(TableName="t", Item={**KEY, "v": {"N": "1"}}, ReturnValues="ALL_OLD")
    attempt(db.put_item, TableName="t", Item={**KEY, "v": {"N": "2"}}, ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD")
    attempt(db.put_item, TableName="t", Item={"pk": {"S": "p"}})  # no sort key
    attempt(db.put_item, TableName="missing", Item=KEY)
    db.put_item(TableName="t", Item=EVERY_TYPE)
    for sk in ("b1", "b2", "b3", "c1"):
        db.put_item(TableName="t", Item={"pk": {"S": "p"}, "sk": {"S": sk}, "v": {"N": sk[1]}, "tag": {"S": sk[0]}})

    db.get_item(TableName="t", Key=KEY)
    db.get_item(TableName="t", Key=KEY, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    db.get_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": "nothing"}})
    db.get_item(TableName="t", Key=KEY, ProjectionExpression="#m.inner, b, ns", ExpressionAttributeNames={"#m": "m"})
    attempt(db.get_item, TableName="t", Key={"pk": {"S": ""}, "sk": {"S": "a"}})
    attempt(db.get_item, TableName="t", Key={"pk": {"S": "p"}})
    attempt(db.get_item, TableName="t", Key=KEY, ExpressionAttributeNames={"#x": "x"})

    db.update_item(TableName="t", Key=KEY, UpdateExpression="SET s = :s ADD n :one REMOVE bs",
                   ExpressionAttributeValues={":s": {"S": "new"}, ":one": {"N": "1"}}, ReturnValues="ALL_NEW")
    db.update_item(TableName="t", Key=KEY, UpdateExpression="SET #l = list_append(if_not_exists(#l, :e), :v)",
                   ExpressionAttributeNames={"#l": "log"},
                   ExpressionAttributeValues={":e": {"L": []}, ":v": {"L": [{"S": "x"}]}}, ReturnValues="UPDATED_OLD")
    db.update_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": "fresh"}}, UpdateExpression="ADD c :one",
                   ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW")
    attempt(db.update_item, TableName="t", Key=KEY, UpdateExpression="SET s = :s", ConditionExpression="s = :other",
            ExpressionAttributeValues={":s": {"S": "z"}, ":other": {"S": "other"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD")
    attempt(db.update_item, TableName="t", Key=KEY, UpdateExpression="SET pk = :s",
            ExpressionAttributeValues={":s": {"S": "z"}})

    db.query(TableName="t", KeyConditionExpression="pk = :p AND begins_with(sk, :b)",
             ExpressionAttributeValues={":p": {"S": "p"}, ":b": {"S": "b"}})
    first = db.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                     Limit=2, ScanIndexForward=False, ReturnConsumedCapacity="TOTAL")
    db.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
             Limit=2, ScanIndexForward=False, ExclusiveStartKey=first["LastEvaluatedKey"])
    db.query(TableName="t", KeyConditionExpression="pk = :p", FilterExpression="tag = :t",
             ExpressionAttributeValues={":p": {"S": "p"}, ":t": {"S": "b"}}, ProjectionExpression="sk, v")
    db.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
             Select="COUNT")
    db.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "none"}})
    attempt(db.query, TableName="t", KeyConditionExpression="sk = :p", ExpressionAttributeValues={":p": {"S": "p"}})

    item = lambda sk, v: {"pk": {"S": "t"}, "sk": {"S": sk}, "v": {"S": v}}  # noqa: E731
    db.transact_write_items(ClientRequestToken="token-1", TransactItems=[
        {"Put": {"TableName": "t", "Item": item("a", "one"), "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "b1"}}, "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"N": "9"}}}},
        {"ConditionCheck": {"TableName": "t", "Key": KEY, "ConditionExpression": "attribute_exists(pk)"}},
        {"Delete": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "c1"}}}},
    ], ReturnConsumedCapacity="TOTAL")
    attempt(db.transact_write_items, ClientRequestToken="token-2", TransactItems=[
        {"Put": {"TableName": "t", "Item": item("a", "two")}},
        {"Put": {"TableName": "t", "Item": item("b", "two"), "ConditionExpression": "attribute_exists(pk)",
                 "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"Update": {"TableName": "t", "Key": KEY, "UpdateExpression": "SET s = :v", "ConditionExpression": "s = :x",
                    "ExpressionAttributeValues": {":v": {"S": "v"}, ":x": {"S": "not so"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
    ])
    attempt(db.transact_write_items, TransactItems=[
        {"Put": {"TableName": "t", "Item": item("a", "x")}}, {"Delete": {"TableName": "t", "Key": item("a", "x")}}])
    db.get_item(TableName="t", Key={"pk": {"S": "t"}, "sk": {"S": "a"}})  # "one": the cancelled ones left no trace
    db.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": KEY}},
                                         {"Get": {"TableName": "t", "Key": {"pk": {"S": "t"}, "sk": {"S": "zz"}}}}])

    db.batch_write_item(RequestItems={"t": [
        {"PutRequest": {"Item": item(f"batch{n}", str(n))}} for n in range(3)] + [
        {"DeleteRequest": {"Key": {"pk": {"S": "p"}, "sk": {"S": "b2"}}}}]}, ReturnConsumedCapacity="TOTAL")
    db.batch_get_item(RequestItems={"t": {"Keys": [KEY, {"pk": {"S": "t"}, "sk": {"S": "batch1"}},
                                                   {"pk": {"S": "t"}, "sk": {"S": "gone"}}],
                                          "ProjectionExpression": "sk, v"}})
    attempt(db.batch_get_item, RequestItems={"missing": {"Keys": [KEY]}})

    db.delete_item(TableName="t", Key={"pk": {"S": "t"}, "sk": {"S": "batch0"}}, ReturnValues="ALL_OLD")
    attempt(db.delete_item, TableName="t", Key={"pk": {"S": "t"}, "sk": {"S": "batch1"}},
            ConditionExpression="v = :v", ExpressionAttributeValues={":v": {"S": "no"}})

    arn = db.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    page = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=7)
    streams.get_records(ShardIterator=page["NextShardIterator"])

    sqs = wsgi.client("sqs")
    url = sqs.get_queue_url(QueueName="q")["QueueUrl"]
    attempt(sqs.get_queue_url, QueueName="missing")
    sqs.send_message(QueueUrl=url, MessageBody='{"one": 1}', MessageAttributes={
        "type": {"DataType": "String", "StringValue": "manifest.pushed"},
        "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(n), "MessageBody": f"body {n}",
         "MessageAttributes": {"type": {"DataType": "String", "StringValue": "artifact.pulled"}}} for n in range(4)])
    attempt(sqs.send_message_batch, QueueUrl=url, Entries=[{"Id": "same", "MessageBody": "a"},
                                                           {"Id": "same", "MessageBody": "b"}])
    attempt(sqs.send_message, QueueUrl=url.replace("/q", "/missing"), MessageBody="x")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, WaitTimeSeconds=0, AttributeNames=["All"],
                                MessageAttributeNames=["All"])["Messages"]
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"],
                               MessageAttributeNames=["type"])["Messages"]
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)  # all in flight: none
    attempt(sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=11, WaitTimeSeconds=0)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[1]["ReceiptHandle"], VisibilityTimeout=0)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                                                     for n, m in enumerate(rest)] + [
        {"Id": "bad", "ReceiptHandle": "not-a-handle"}])
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0, AttributeNames=["ApproximateReceiveCount"])


def _run(app) -> list:
    _reset()
    setup = Wsgi(app)
    ensure_table(setup.client("dynamodb"), "t")
    setup.client("sqs").create_queue(QueueName="q")
    wsgi = Wsgi(app)
    _scenario(wsgi)
    return [_comparable(*answer) for answer in wsgi.answers]


def _comparable(target: str, status: int, headers: dict, content: bytes):
    names = {k.lower(): v for k, v in headers.items()}
    if "x-amz-crc32" in names:  # botocore checks it
        assert int(names["x-amz-crc32"]) == zlib.crc32(content), target
    body = json.loads(_STREAM_LABEL.sub("stream/<label>", content.decode())) if content else None
    return target, status, sorted(set(names) - {"date"}), _stable(body)


def _stable(value):
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE_KEYS}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def test_fast_path_answers_as_moto_does(apps, monkeypatch):
    served = []
    real = fastpath.JsonFastPath.__call__

    def counting(self, environ):
        answer = real(self, environ)
        if answer is not None:
            served.append(environ["HTTP_X_AMZ_TARGET"].partition(".")[2])
        return answer

    monkeypatch.setattr(fastpath.JsonFastPath, "__call__", counting)
    through_moto = _run(apps["moto"])
    assert not served
    through_fast_path = _run(apps["fast"])

    assert len(through_fast_path) == len(through_moto)
    for fast, slow in zip(through_fast_path, through_moto):
        assert fast == slow, _difference(fast, slow)
    every_operation = set().union(*(spec[3] for spec in fastpath._SERVICES.values()))
    assert set(served) == every_operation  # the scenario covers all it serves
    statuses = {status for _, status, _, _ in through_fast_path}
    assert statuses == {200, 400}  # and failures as well as successes


def _difference(fast, slow, path="") -> str:
    if isinstance(fast, (tuple, list)) and isinstance(slow, (tuple, list)) and len(fast) == len(slow):
        return next((_difference(f, s, f"{path}[{i}]") for i, (f, s) in enumerate(zip(fast, slow)) if f != s), "")
    if isinstance(fast, dict) and isinstance(slow, dict) and fast.keys() == slow.keys():
        return next((_difference(fast[k], slow[k], f"{path}.{k}") for k in fast if fast[k] != slow[k]), "")
    return f"at {path}: fast path {fast!r} != moto {slow!r}"


def test_conditional_writes_stay_atomic_on_the_fast_path(apps):
    _reset()
    wsgi = Wsgi(apps["fast"])
    db = wsgi.client("dynamodb")
    ensure_table(db, "t")
    won = []

    def race(n: int) -> None:
        client = Wsgi(apps["fast"]).client("dynamodb")
        for attempt in range(20):
            try:
                client.put_item(TableName="t", Item={"pk": {"S": "race"}, "sk": {"S": str(attempt)},
                                                     "by": {"N": str(n)}},
                                ConditionExpression="attribute_not_exists(pk)")
                won.append(attempt)
            except client.exceptions.ConditionalCheckFailedException:
                pass

    threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == list(range(20))  # each key written once, by one thread


def test_other_requests_take_moto_path(apps):
    fast = fastpath.JsonFastPath()
    base = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_LENGTH": "2", "wsgi.input": io.BytesIO(b"{}")}
    assert fast({**base, "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.DescribeTable"}) is None
    assert fast({**base, "HTTP_X_AMZ_TARGET": "AmazonSQS.CreateQueue"}) is None
    assert fast({**base, "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem", "HTTP_CONTENT_ENCODING": "gzip"}) is None
    assert fast({**base, "REQUEST_METHOD": "GET", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem"}) is None
    assert fast({**base, "PATH_INFO": "/bucket/key"}) is None
    assert base["wsgi.input"].read() == b"{}"  # nothing was consumed


def test_compiled_serializer_leaves_objects_to_moto():
    from moto.core.utils import get_service_model

    write = fastpath.compile_output(get_service_model("dynamodb").operation_model("GetItem"))
    assert json.loads(write({"Item": {"k": {"B": b"\x00"}}})) == {"Item": {"k": {"B": "AA=="}}}

    class Item:
        Item = {"k": {"S": "v"}}

    for unsupported in (Item(), {"Item": {"k": {"S": "v"}}, "item": {}}):
        with pytest.raises(fastpath._Unsupported):
            write(unsupported)


def test_sqs_counts_visibility_and_deduplication_unchanged(apps):
    _reset()
    sqs = Wsgi(apps["fast"]).client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    received = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30, WaitTimeSeconds=0)["Messages"]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert [m["Body"] for m in received] == ["m0"]
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"],
            counts["ApproximateNumberOfMessagesDelayed"]) == ("2", "1", "1")
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)["Messages"]
    assert sorted(m["Body"] for m in again) == ["m0", "m1", "m2"]  # not the delayed one

    fifo = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true",
                                                             "ContentBasedDeduplication": "true"})["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
    sqs.send_message_batch(QueueUrl=fifo, Entries=[{"Id": "1", "MessageBody": "same", "MessageGroupId": "g"},
                                                   {"Id": "2", "MessageBody": "other", "MessageGroupId": "g"}])
    attributes = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "2"
