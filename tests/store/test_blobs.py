"""The S3 adapter's client configuration."""
from __future__ import annotations

import boto3

from chalicelib.store.blobs import S3Objects


def _payload_signing(objects: S3Objects):
    return (objects._s3.meta.config.s3 or {}).get("payload_signing_enabled")


def test_bodies_go_unsigned_to_a_plain_http_endpoint_only():
    session = boto3.session.Session(aws_access_key_id="a", aws_secret_access_key="b")
    local = S3Objects(session, "bkt", "us-east-1", "http://127.0.0.1:4566", "http://127.0.0.1:4566")
    aws = S3Objects(session, "bkt", "us-east-1", None, None)
    assert _payload_signing(local) is False
    assert _payload_signing(aws) is None  # botocore's own choice: unsigned part and object bodies over HTTPS
