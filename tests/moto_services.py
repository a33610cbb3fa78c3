"""Services wired to moto in-process, with a manual clock: for service and store tests."""
from __future__ import annotations

import os
from contextlib import contextmanager

import boto3
from moto import mock_aws

from chalicelib.clock import ManualClock
from chalicelib.local.storage import atomic_dynamodb_writes
from chalicelib.services import build_services
from chalicelib.settings import Settings
from chalicelib.store.schema import ensure_bucket, ensure_table


@contextmanager
def moto_services(**overrides):
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}  # else moto serves no streams
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    atomic_dynamodb_writes()  # as the embedded storage does: DynamoDB's atomicity
    try:
        with mock_aws():
            settings = Settings.from_env({"MOORAGE_TABLE": "test-table", "MOORAGE_BUCKET": "test-bucket",
                                          **overrides})
            ensure_table(boto3.client("dynamodb", region_name="us-east-1"), settings.table_name)
            ensure_bucket(boto3.client("s3", region_name="us-east-1"), settings.bucket)
            clock = ManualClock()
            services = build_services(settings, clock)
            services.registries.ensure("library", "test")
            yield services
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
