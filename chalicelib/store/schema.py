"""The table and bucket the code expects. infra/ declares the same for AWS (a test compares);
the local runtime creates them from here."""
from __future__ import annotations

import json

TABLE_KEYS = {
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                             {"AttributeName": "sk", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "BillingMode": "PAY_PER_REQUEST",
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
}
TTL_ATTRIBUTE = "ttl"


def ensure_table(dynamodb, name: str) -> None:
    try:
        dynamodb.describe_table(TableName=name)
        return
    except dynamodb.exceptions.ResourceNotFoundException:
        pass
    dynamodb.create_table(TableName=name, **TABLE_KEYS)
    dynamodb.get_waiter("table_exists").wait(TableName=name)
    dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True,
                                                                          "AttributeName": TTL_ATTRIBUTE})


def ensure_bucket(s3, name: str) -> None:
    try:
        s3.head_bucket(Bucket=name)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=name)


def ensure_queue(sqs, name: str, dead_letter_arn: str | None = None, max_receives: int = 5,
                 visibility_timeout_s: int = 60) -> str:
    """Create the queue if missing (with its redrive policy); return its ARN."""
    attributes = {"VisibilityTimeout": str(visibility_timeout_s), "MessageRetentionPeriod": str(14 * 24 * 3600)}
    if dead_letter_arn:
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dead_letter_arn,
                                                  "maxReceiveCount": str(max_receives)})
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def ensure_object_notifications(s3, bucket: str, queue_arn: str) -> None:
    """S3 tells the queue when objects land (blob bytes: `<registry>/blobs/...`)."""
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"Id": "objects-created", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]})
