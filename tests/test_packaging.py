"""`chalice package` + infra/ produce a deployable template, and `import app` stays light."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.store.schema import TABLE_KEYS, TTL_ATTRIBUTE

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> dict:
    chalice = shutil.which("chalice", path=str(Path(sys.executable).parent)) or shutil.which("chalice")
    if chalice is None:
        pytest.skip("chalice CLI not installed")
    project = tmp_path_factory.mktemp("project")
    for name in ("app.py", "requirements.txt"):
        shutil.copy(ROOT / name, project / name)
    for name in ("chalicelib", "infra", ".chalice"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__", "deployments"))
    out = project / "out"
    result = subprocess.run(
        [chalice, "package", "--stage", "dev", "--merge-template", "infra/resources.json", str(out)],
        cwd=project, capture_output=True, text=True, timeout=600,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"})
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((out / "sam.json").read_text())


def test_template_has_greedy_routes_and_binary_types(template):
    api = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert {"/v2", "/v2/{proxy+}", "/api/v1/{proxy+}"} <= set(api["paths"])
    binary = api["x-amazon-apigateway-binary-media-types"]
    assert "application/octet-stream" in binary
    assert "application/vnd.oci.image.manifest.v1+json" not in binary  # manifests stay text


def test_template_merges_storage_from_infra(template):
    resources = template["Resources"]
    table = resources["RegistryTable"]["Properties"]
    assert table["KeySchema"] == TABLE_KEYS["KeySchema"]
    assert table["AttributeDefinitions"] == TABLE_KEYS["AttributeDefinitions"]
    assert table["StreamSpecification"]["StreamViewType"] == TABLE_KEYS["StreamSpecification"]["StreamViewType"]
    assert table["TimeToLiveSpecification"]["AttributeName"] == TTL_ATTRIBUTE
    assert resources["BlobBucket"]["Type"] == "AWS::S3::Bucket"
    variables = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert variables["MOORAGE_TABLE"] == {"Ref": "RegistryTable"}
    assert variables["MOORAGE_BUCKET"] == {"Ref": "BlobBucket"}
    assert resources["RequestTooLarge"]["Properties"]["ResponseType"] == "REQUEST_TOO_LARGE"


def test_import_app_is_light():
    # No AWS SDK, ORM or local-runtime import at module level: they load on first request.
    code = ("import sys, app; heavy = [m for m in ('boto3', 'pynamodb', 'moto', 'cheroot', 'requests') "
            "if m in sys.modules]; print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_template_guards_v2_with_the_token_authorizer_and_the_docker_challenge(template):
    # API Gateway renames a function's WWW-Authenticate; the challenge docker needs on its first
    # 401 comes from the UNAUTHORIZED gateway response instead (../shared/CONSTRAINTS.md).
    api = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert "registry_token" in api["securityDefinitions"]
    for path in ("/v2", "/v2/{proxy+}"):
        assert all(op.get("security") == [{"registry_token": []}] for op in api["paths"][path].values())
    assert "security" not in api["paths"]["/token"]["get"]  # the realm itself is open
    unauthorized = template["Resources"]["Unauthorized"]["Properties"]
    assert unauthorized["ResponseType"] == "UNAUTHORIZED"
    challenge = unauthorized["ResponseParameters"]["gatewayresponse.header.WWW-Authenticate"]["Fn::Sub"]
    assert challenge.startswith("'Bearer realm=") and "/token" in challenge and 'service="moorage"' in challenge


def test_template_wires_the_event_pipeline(template):
    from chalicelib.events.consumers import CONSUMERS, MAX_RECEIVES

    resources = template["Resources"]
    queues = {r["Properties"]["QueueName"]: (key, r) for key, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    for name in [c.name for c in CONSUMERS] + ["storage"]:
        key, queue = queues[f"moorage-{name}"]
        redrive = queue["Properties"]["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == MAX_RECEIVES
        assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] == queues[f"moorage-{name}-dlq"][0]
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    sqs_sources = {source["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[1]: source["Properties"]
                   for f in functions.values() for source in f["Properties"].get("Events", {}).values()
                   if source["Type"] == "SQS"}
    assert set(sqs_sources) == {f"moorage-{c.name}" for c in CONSUMERS} | {"moorage-storage"}
    assert all(s["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for s in sqs_sources.values())
    for function in functions.values():  # a message must not reappear while its batch still runs
        for source in function["Properties"].get("Events", {}).values():
            if source["Type"] == "SQS":
                name = source["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[1]
                assert function["Properties"]["Timeout"] < queues[name][1]["Properties"]["VisibilityTimeout"]
    stream = functions["TableChanges"]["Properties"]["Events"]["TableChangesDynamodbEventSource"]["Properties"]
    assert stream["Stream"] == {"Fn::GetAtt": ["RegistryTable", "StreamArn"]}  # not the placeholder
    notifications = resources["BlobBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert notifications[0]["Queue"] == {"Fn::GetAtt": ["StorageQueue", "Arn"]}
    for name, function in functions.items():  # every function finds the table and the bucket
        assert function["Properties"]["Environment"]["Variables"]["MOORAGE_TABLE"] == {"Ref": "RegistryTable"}, name
    roles = {r["Ref"] for r in resources["RegistryAccess"]["Properties"]["Roles"]}
    assert roles == {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()}


def test_only_the_api_function_flushes_its_events_after_each_invocation(template):
    functions = {k: r["Properties"] for k, r in template["Resources"].items()
                 if r["Type"] == "AWS::Serverless::Function"}
    flags = {k: (p.get("Environment") or {}).get("Variables", {}).get("MOORAGE_FLUSH_AFTER_INVOKE")
             for k, p in functions.items()}
    assert flags.pop("APIHandler") == "1"
    assert len(flags) > 5 and set(flags.values()) == {None}


def test_the_storage_queue_takes_notifications_from_the_account_s_buckets_only(template):
    """Registries may have their own bucket (same account); their owners point its
    notifications at this queue."""
    statement = template["Resources"]["StorageQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::*"}
