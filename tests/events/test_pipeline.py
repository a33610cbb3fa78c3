"""The whole pipeline through a running `moorage serve`: the event runner polls the table's
stream and the queues, and the same handlers Lambda runs append the audit log, count
usage and deliver webhooks."""
from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from chalicelib.cli.auth import TokenAuth
from tests.clients.conftest import registry  # noqa: F401  (the session's running registry)
from tests.support.auth import authed_session
from tests.support.webhook_receiver import Receiver

TIMEOUT = 30
SETTLE_S = 45  # how long the runner may take to get an event through stream, queue and consumer


@pytest.fixture(scope="module")
def moorage(registry):  # noqa: F811
    if registry.target != "moorage":
        pytest.skip("the event pipeline is moorage's own")
    return registry


class Admin:
    def __init__(self, server):
        self.server = server

    def call(self, method: str, path: str, body=None, auth=None, **params) -> requests.Response:
        return requests.request(method, f"{self.server.url}/api/v1{path}", json=body, params=params,
                                auth=auth or (self.server.username, self.server.password), timeout=TIMEOUT)

    def ok(self, method: str, path: str, body=None, **params) -> dict:
        response = self.call(method, path, body, **params)
        assert response.status_code in (200, 201), response.text
        return response.json()


def unique(label: str) -> str:
    return f"{label}{uuid.uuid4().hex[:8]}"


def push(session: requests.Session, base: str, repo: str, tag: str, layer: bytes) -> str:
    """A one-layer image: blob, empty config, manifest under `tag`; returns the manifest digest."""
    config = b"{}"
    for data in (layer, config):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        pushed = session.post(f"{base}/v2/{repo}/blobs/uploads/", params={"digest": digest}, data=data,
                              headers={"Content-Type": "application/octet-stream"}, timeout=TIMEOUT)
        assert pushed.status_code == 201, pushed.text
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": len(layer),
                    "digest": "sha256:" + hashlib.sha256(layer).hexdigest()}]}).encode()
    put = session.put(f"{base}/v2/{repo}/manifests/{tag}", data=manifest,
                      headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, timeout=TIMEOUT)
    assert put.status_code == 201, put.text
    return put.headers["Docker-Content-Digest"]


def audit_until(admin: Admin, registry_name: str, done, **filters) -> list[dict]:
    """The registry's audit records (every page), once `done(records)` holds."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        records, cursor = [], None
        while True:
            page = admin.ok("GET", "/audit", registry=registry_name, limit=1000,
                            **({"cursor": cursor} if cursor else {}), **filters)
            records += page["records"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        if done(records) or time.monotonic() > deadline:
            return records
        time.sleep(0.5)


def of_type(records: list[dict], event_type: str) -> list[dict]:
    return [r for r in records if r["type"] == event_type]


def test_registry_actions_reach_the_audit_log_once_with_their_actor(moorage):
    admin = Admin(moorage)
    name = admin.ok("POST", "/registries", {"name": unique("aud")})["name"]
    user, password = unique("dev"), uuid.uuid4().hex
    admin.ok("POST", "/users", {"name": user, "password": password})
    admin.ok("PUT", f"/registries/{name}/members/user/{user}", {"role": "Developer"})
    session = requests.Session()
    session.auth = TokenAuth(moorage.url, user, password)
    repo = f"{name}/team/app"
    digest = push(session, moorage.url, repo, "1", b"layer bytes " + name.encode())
    pulled = session.get(f"{moorage.url}/v2/{repo}/manifests/1", timeout=TIMEOUT,
                         headers={"Accept": "application/vnd.oci.image.manifest.v1+json",
                                  "User-Agent": "pipeline-test/1"})
    assert pulled.status_code == 200
    admin_session = authed_session(moorage)
    assert admin_session.delete(f"{moorage.url}/v2/{repo}/manifests/1", timeout=TIMEOUT).status_code == 202
    wanted = {"registry.created", "repository.created", "manifest.pushed", "tag.updated", "tag.deleted",
              "artifact.pulled", "blob.stored"}
    records = audit_until(admin, name, lambda rs: wanted <= {r["type"] for r in rs})
    assert wanted <= {r["type"] for r in records}, sorted({r["type"] for r in records})

    [created] = of_type(records, "registry.created")
    assert created["actor"]["principal"] == "user:admin"
    [pushed] = of_type(records, "manifest.pushed")
    assert pushed["actor"]["principal"] == f"user:{user}" and pushed["target"]["digest"] == digest
    [tagged] = of_type(records, "tag.updated")
    assert (tagged["target"]["repository"], tagged["target"]["tag"]) == ("team/app", "1")
    assert tagged["actor"]["principal"] == f"user:{user}"
    [pull] = of_type(records, "artifact.pulled")
    assert pull["actor"] == {"principal": f"user:{user}", "source_ip": "127.0.0.1",
                             "user_agent": "pipeline-test/1"}
    [deleted] = of_type(records, "tag.deleted")
    assert deleted["actor"]["principal"] == "user:admin"  # the deleter, not the one who pushed
    assert len({r["id"] for r in records}) == len(records)

    # The same events were counted, once each (the meter has a queue of its own: it may lag the audit).
    deadline = time.monotonic() + SETTLE_S
    while True:
        usage = admin.ok("GET", f"/registries/{name}/usage")
        if usage["totals"]["pulls"] >= 1 and usage["totals"]["pushes"] >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert usage["totals"]["pushes"] == 1 and usage["totals"]["pulls"] == 1, usage["totals"]


def test_concurrent_pushes_give_one_audit_record_each(moorage):
    admin = Admin(moorage)
    name = admin.ok("POST", "/registries", {"name": unique("con")})["name"]
    session = authed_session(moorage)
    tags = [f"t{i}" for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda tag: push(session, moorage.url, f"{name}/app", tag, f"layer {tag}".encode()), tags))
    records = audit_until(admin, name, lambda rs: len(of_type(rs, "tag.updated")) >= len(tags),
                          action="tag.updated")
    assert sorted(r["target"]["tag"] for r in records) == tags
    assert {r["actor"]["principal"] for r in records} == {"user:admin"}


def test_a_denied_attempt_is_audited_with_who_was_refused(moorage):
    admin = Admin(moorage)
    mine, theirs = (admin.ok("POST", "/registries", {"name": unique(p)})["name"] for p in ("own", "oth"))
    user, password = unique("u"), uuid.uuid4().hex
    admin.ok("POST", "/users", {"name": user, "password": password})
    admin.ok("PUT", f"/registries/{mine}/members/user/{user}", {"role": "Guest"})
    session = requests.Session()
    session.auth = TokenAuth(moorage.url, user, password)
    refused = session.get(f"{moorage.url}/v2/{theirs}/secret/tags/list", timeout=TIMEOUT)
    assert refused.status_code == 403
    records = audit_until(admin, theirs, lambda rs: of_type(rs, "access.denied"), action="access.denied")
    [denied] = records
    assert denied["actor"]["principal"] == f"user:{user}" and denied["result"] == "denied"
    assert denied["target"]["repository"] == "secret"


def test_a_webhook_receives_signed_deliveries_of_the_registrys_events(moorage):
    admin = Admin(moorage)
    name = admin.ok("POST", "/registries", {"name": unique("hook")})["name"]
    with Receiver(now=lambda: int(time.time())) as receiver:
        created = admin.ok("POST", f"/registries/{name}/webhooks",
                           {"url": receiver.url + "/hooks", "events": ["manifest.pushed", "tag.updated"]})
        receiver.secret = created["secret"]
        push(authed_session(moorage), moorage.url, f"{name}/app", "v1", b"hooked layer")
        deadline = time.monotonic() + SETTLE_S
        while len(receiver.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert receiver.rejected == []
        assert sorted(r.headers["x-moorage-event"] for r in receiver.requests) == ["manifest.pushed", "tag.updated"]
        deliveries = admin.ok("GET", f"/registries/{name}/webhooks/{created['id']}/deliveries")
        assert len(deliveries["deliveries"]) == 2
        assert all(d["delivered"] and d["attempts"] == 1 for d in deliveries["deliveries"]), deliveries


def test_events_status_shows_the_queues(moorage):
    status = Admin(moorage).ok("GET", "/events/queues")
    assert {q["consumer"] for q in status["queues"]} == {"audit", "meter", "webhooks", "storage", "scan"}
    assert all(q["dead_letters"] == 0 for q in status["queues"]), status


def test_no_secret_reaches_the_server_log(moorage):
    session = authed_session(moorage)
    push(session, moorage.url, "library/logcheck", "1", b"log check layer")
    blob = "sha256:" + hashlib.sha256(b"log check layer").hexdigest()
    redirect = session.get(f"{moorage.url}/v2/library/logcheck/blobs/{blob}", allow_redirects=False,
                           timeout=TIMEOUT)
    assert redirect.status_code == 307
    token = session.auth._tokens["library/logcheck"][0]
    log = moorage.log_path.read_text(errors="replace")
    assert moorage.password not in log
    assert token not in log and token.split(".")[2] not in log
    assert "X-Amz-Signature" not in log and redirect.headers["Location"] not in log
