"""Webhooks: subscriptions through the management API, deliveries to a live receiver on
127.0.0.1 (tests/support/webhook_receiver.py) that checks every signature, retries that
skip subscriptions already served, SSRF refusals, and the endpoints' input checks."""
from __future__ import annotations

import http.client
import json
import socket
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from chalicelib.admin.http import dispatch
from chalicelib.auth.scopes import parse_scopes
from chalicelib.auth.service import Credentials
from chalicelib.clock import epoch
from chalicelib.events import consumers
from chalicelib.events.model import Actor, Event, Target
from chalicelib.events.webhooks import DeliveryFailed, TargetRefused, deliver, resolve
from chalicelib.registry.http.base import Request
from chalicelib.store import keys
from chalicelib.store.models import WebhookDeliveryItem
from chalicelib.store.webhooks import Subscription, WebhookStore
from tests.moto_services import moto_services
from tests.support.webhook_receiver import Receiver

ADMIN_PASSWORD = "a-long-admin-password"


@dataclass
class Env:
    services: object
    token: str
    stack: ExitStack

    def api(self, method: str, path: str, body: object = None, query: dict | None = None,
            token: str | None = "admin") -> tuple[int, dict]:
        headers = {"authorization": (f"Bearer {self.token if token == 'admin' else token}",)} if token else {}
        raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
        request = Request(method, path, {k: (v,) for k, v in (query or {}).items()}, headers, raw,
                          source_ip="127.0.0.1", request_id="test")
        response = dispatch(request, self.services)
        return response.status, json.loads(response.body)

    def receiver(self, **kw) -> Receiver:
        return self.stack.enter_context(Receiver(lambda: epoch(self.services.clock.now()), **kw))

    def subscribe(self, receiver: Receiver | None, events=("*",), registry: str = "library", **extra) -> dict:
        url = extra.pop("url", None) or receiver.url
        status, body = self.api("POST", f"/registries/{registry}/webhooks", {"url": url, "events": list(events), **extra})
        assert status == 201, body
        if receiver is not None:
            receiver.secret = body["secret"]
        return body

    def deliveries(self, sub: dict, **query) -> list[dict]:
        status, body = self.api("GET", f"/registries/{sub['registry']}/webhooks/{sub['id']}/deliveries", query=query)
        assert status == 200, body
        return body["deliveries"]


def _env(**overrides):
    with moto_services(**overrides) as services, ExitStack() as stack:
        services.registries.ensure("other", "test")
        services.auth.principals.ensure_admin("admin", ADMIN_PASSWORD)
        admin = services.auth.login(Credentials("admin", ADMIN_PASSWORD))
        yield Env(services, services.auth.issue(admin, parse_scopes([]))["token"], stack)


@pytest.fixture
def env():
    yield from _env(MOORAGE_WEBHOOK_ALLOW_PRIVATE="1")


@pytest.fixture
def strict():
    """Private targets not allowed: as on AWS."""
    yield from _env()


def event(env: Env, type_: str = "manifest.pushed", registry: str | None = "library", id_: str = "ev-1") -> Event:
    return Event(id=id_, type=type_, time=env.services.clock.now(), actor=Actor("user:alice", "10.0.0.9"),
                 target=Target(registry=registry, repository="team/app", tag="1", digest="sha256:" + "a" * 64),
                 details={"bytes": 1234})


def error_of(status: int, body: dict, expected_status: int, code: str | None = None) -> str:
    assert status == expected_status, body
    assert set(body) == {"error"} and isinstance(body["error"]["message"], str) and body["error"]["message"], body
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]["message"]


# ---- delivery --------------------------------------------------------------------------------

def test_a_matching_event_is_posted_as_json_with_a_valid_signature(env):
    receiver = env.receiver()
    sub = env.subscribe(receiver, ["manifest.pushed"])
    pushed = event(env)
    deliver(pushed, env.services)
    assert receiver.rejected == []
    [got] = receiver.requests
    assert got.path == "/hook?from=moorage"
    assert got.body == pushed.to_json().encode()
    assert set(json.loads(got.body)) == {"id", "type", "time", "actor", "target", "result", "details"}
    assert Event.from_json(got.body) == pushed
    assert got.headers["x-moorage-event"] == "manifest.pushed"
    assert got.headers["x-moorage-delivery"] == "ev-1"
    assert got.headers["x-moorage-timestamp"] == str(epoch(env.services.clock.now()))
    [logged] = env.deliveries(sub)
    assert logged["delivered"] and logged["status_code"] == 204 and logged["attempts"] == 1
    assert (logged["event_id"], logged["event_type"], logged["last_error"]) == ("ev-1", "manifest.pushed", None)


def test_the_signature_covers_the_body_and_the_timestamp(env):
    receiver = env.receiver()
    env.subscribe(receiver)
    deliver(event(env), env.services)
    [got] = receiver.requests
    sent = {k: v for k, v in got.headers.items() if k.startswith("x-moorage-") or k in ("content-type", "user-agent")}

    def resend(body: bytes, **changed: str) -> int:
        parts = urlsplit(receiver.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        connection.request("POST", got.path, body=body, headers={**sent, **changed})
        status = connection.getresponse().status
        connection.close()
        return status

    assert resend(got.body) == 204  # the receiver accepts the genuine request...
    assert resend(got.body.replace(b'"bytes":1234', b'"bytes":9999')) == 401  # ...not a tampered body
    assert resend(got.body, **{"x-moorage-timestamp": str(int(sent["x-moorage-timestamp"]) + 1)}) == 401
    env.services.clock.advance(minutes=10)
    assert resend(got.body) == 401  # nor the genuine one replayed later
    assert receiver.rejected == ["bad signature", "bad signature", f"stale or missing timestamp "
                                 f"{sent['x-moorage-timestamp']!r}"]


def test_only_enabled_subscriptions_of_the_registry_for_the_type_get_the_event(env):
    tags, elsewhere, disabled, wanted = (env.receiver() for _ in range(4))
    env.subscribe(tags, ["tag.updated"])
    env.subscribe(elsewhere, ["*"], registry="other")
    env.subscribe(disabled, ["manifest.pushed"], enabled=False)
    env.subscribe(wanted, ["tag.deleted", "manifest.pushed"])
    deliver(event(env), env.services)
    deliver(event(env, "login.failed", registry=None, id_="ev-2"), env.services)  # no registry: nobody's
    assert [len(r.requests) for r in (tags, elsewhere, disabled, wanted)] == [0, 0, 0, 1]
    deliver(event(env, "tag.updated", registry="other", id_="ev-3"), env.services)
    assert [len(r.requests) for r in (tags, elsewhere, disabled, wanted)] == [0, 1, 0, 1]
    assert json.loads(elsewhere.requests[0].body)["target"]["registry"] == "other"


def test_a_failure_is_recorded_and_raised_and_the_retry_skips_who_got_it(env):
    flaky, steady = env.receiver(fail_times=1), env.receiver()
    flaky_sub, steady_sub = env.subscribe(flaky), env.subscribe(steady)
    pushed = event(env)
    with pytest.raises(DeliveryFailed, match=flaky_sub["id"]):
        deliver(pushed, env.services)
    assert (len(flaky.requests), len(steady.requests)) == (1, 1)  # everyone was tried before raising
    [failed] = env.deliveries(flaky_sub)
    assert (failed["delivered"], failed["status_code"], failed["attempts"], failed["last_error"]) == \
        (False, 500, 1, "HTTP 500")
    assert env.deliveries(steady_sub)[0]["delivered"]

    env.services.clock.advance(seconds=30)  # SQS redelivers the same event after a back-off
    deliver(pushed, env.services)
    assert (len(flaky.requests), len(steady.requests)) == (2, 1)
    retried = flaky.requests[1]
    assert retried.headers["x-moorage-delivery"] == "ev-1" and retried.body == flaky.requests[0].body
    assert retried.headers["x-moorage-timestamp"] == str(epoch(env.services.clock.now()))
    [done] = env.deliveries(flaky_sub)
    assert (done["delivered"], done["status_code"], done["attempts"], done["last_error"]) == \
        (True, 204, 2, "HTTP 500")  # the error before the success stays readable
    deliver(pushed, env.services)  # once more (say, a redrive): nothing is sent twice
    assert (len(flaky.requests), len(steady.requests)) == (2, 1)
    assert flaky.rejected == steady.rejected == []


def test_network_errors_and_redirects_are_failures(env):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    elsewhere = env.receiver()
    redirecting = env.receiver(redirect_to=elsewhere.url)
    down = env.subscribe(None, url=f"http://127.0.0.1:{closed}/hook")
    moved = env.subscribe(redirecting)
    elsewhere.secret = moved["secret"]  # it would accept the request if the redirect were followed
    with pytest.raises(DeliveryFailed):
        deliver(event(env), env.services)
    assert "ConnectionRefusedError" in env.deliveries(down)[0]["last_error"]
    assert env.deliveries(moved)[0]["status_code"] == 302 and not env.deliveries(moved)[0]["delivered"]
    assert len(redirecting.requests) == 1 and elsewhere.requests == []


def test_the_connection_goes_to_the_address_checked_not_to_a_second_lookup(env, monkeypatch):
    receiver = env.receiver()
    port = urlsplit(receiver.url).port
    env.subscribe(receiver, url=f"http://hooks.example.test:{port}/hook")
    real, lookups = socket.getaddrinfo, []

    def rebinding(host, *args, **kw):  # the name answers once; a second lookup would go elsewhere
        if host != "hooks.example.test":
            return real(host, *args, **kw)
        lookups.append(host)
        if len(lookups) > 1:
            raise socket.gaierror("rebound")
        return real("127.0.0.1", *args, **kw)
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    deliver(event(env), env.services)
    [got] = receiver.requests
    assert got.headers["host"] == f"hooks.example.test:{port}" and lookups == ["hooks.example.test"]


def test_the_delivery_log_expires_after_30_days_and_keeps_errors_short(env):
    sub = Subscription("library", "log", "https://hooks.example.com/", ("*",), "secret",
                       created_at=env.services.clock.now(), created_by="test")
    WebhookStore().create(sub)
    now = env.services.clock.now()
    WebhookStore().record_attempt(sub, "ev-1", "tag.updated", now, None, "x" * 5000, now)
    [item] = WebhookDeliveryItem.query(keys.deliveries_pk("library", "log"))
    assert item.ttl == epoch(now) + 30 * 24 * 3600 and len(item.last_error) == 300
    assert WebhookStore().delivery(sub, "ev-1", now).attempts == 1


def test_through_the_consumer_a_failure_is_a_batch_item_failure_and_the_retry_succeeds(env, monkeypatch):
    # consumers caches its runners by id(services); another test's freed services may share an id.
    monkeypatch.setattr(consumers, "_RUNNERS", {})
    flaky = env.receiver(fail_times=1)
    env.subscribe(flaky)
    record = {"messageId": "m-1", "body": event(env).to_json(), "attributes": {"ApproximateReceiveCount": "1"}}
    webhooks = consumers.consumer("webhooks")
    assert consumers.process_batch(webhooks, [record], env.services) == \
        {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert consumers.process_batch(webhooks, [record], env.services) == {"batchItemFailures": []}
    assert consumers.process_batch(webhooks, [record], env.services) == {"batchItemFailures": []}
    assert len(flaky.requests) == 2 and flaky.rejected == []


# ---- SSRF --------------------------------------------------------------------------------------

PRIVATE_URLS = ["http://127.0.0.1:8080/", "http://localhost/hook", "http://[::1]/", "http://10.1.2.3/",
                "http://192.168.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.1]/",
                "http://0.0.0.0/", "http://100.64.0.1/", "http://[fe80::1]/"]


def test_private_targets_are_refused_at_creation(strict):
    for url in PRIVATE_URLS:  # one registry for all: each new one costs seconds of moto set-up
        status, body = strict.api("POST", "/registries/library/webhooks", {"url": url})
        assert "non-public" in error_of(status, body, 400, "INVALID_ARGUMENT"), url
    status, body = strict.api("POST", "/registries/library/webhooks", {"url": "https://hooks.example.com/x"})
    assert status == 201 and body["events"] == ["*"]  # a public name is accepted; all events by default


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_addresses_are_refused_before_connecting(url):
    with pytest.raises(TargetRefused):
        resolve(url, allow_private=False)
    assert resolve(url, allow_private=True).address  # what the setting allows locally


def test_public_addresses_are_delivered_to_at_the_address_checked():
    target = resolve("http://93.184.216.34:8080/x?y=1", allow_private=False)
    assert (target.host, target.port, target.path, target.address) == ("93.184.216.34", 8080, "/x?y=1",
                                                                       "93.184.216.34")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "gopher://127.0.0.1/", "http:///x"])
def test_only_http_urls_are_delivered_to_even_when_private_targets_are_allowed(url):
    with pytest.raises(TargetRefused):
        resolve(url, allow_private=True)


def test_a_subscription_whose_host_turned_private_is_refused_at_delivery(strict):
    # As if the name resolved to a public address at creation and to 127.0.0.1 now.
    receiver = strict.receiver()
    receiver.secret = "s" * 43
    port = urlsplit(receiver.url).port
    store = WebhookStore()
    for i, url in enumerate([receiver.url, f"http://localhost:{port}/hook"]):
        store.create(Subscription("library", f"turned{i}", url, ("*",), receiver.secret,
                                  created_at=strict.services.clock.now(), created_by="test"))
    with pytest.raises(DeliveryFailed):
        deliver(event(strict), strict.services)
    assert receiver.requests == [] and receiver.rejected == []
    for i in range(2):
        [logged] = strict.deliveries({"registry": "library", "id": f"turned{i}"})
        assert logged["last_error"].startswith("refused: ") and logged["status_code"] is None


# ---- the management API ------------------------------------------------------------------------

def test_the_secret_is_shown_only_at_creation(env):
    created = env.subscribe(None, ["manifest.pushed", "tag.updated", "manifest.pushed"],
                            url="https://hooks.example.com/x", description="CI")
    secret = created.pop("secret")
    assert len(secret) >= 40
    assert created["events"] == ["manifest.pushed", "tag.updated"] and created["created_by"] == "user:admin"
    status, listed = env.api("GET", "/registries/library/webhooks")
    assert status == 200 and listed == {"webhooks": [created]}
    status, one = env.api("GET", f"/registries/library/webhooks/{created['id']}")
    assert status == 200 and one == created
    assert secret not in json.dumps([listed, one, env.deliveries(created)])


def test_delete_and_unknown_webhooks(env):
    created = env.subscribe(None, url="https://hooks.example.com/x")
    path = f"/registries/library/webhooks/{created['id']}"
    assert env.api("DELETE", path) == (200, {"deleted": created["id"]})
    for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/deliveries")):
        status, body = env.api(method, path + suffix)
        assert created["id"] in error_of(status, body, 404, "NOT_FOUND")
    assert env.api("GET", "/registries/library/webhooks") == (200, {"webhooks": []})
    status, body = env.api("GET", "/registries/nosuch/webhooks")
    assert "nosuch" in error_of(status, body, 404)
    status, body = env.api("POST", "/registries/nosuch/webhooks", {"url": "https://hooks.example.com/x"})
    error_of(status, body, 404)


BAD_SUBSCRIPTIONS = [
    ({}, "'url'"),
    ({"url": 42}, "'url'"),
    ({"url": "ftp://example.com/x"}, "http://"),
    ({"url": "http:///no-host"}, "http://"),
    ({"url": "https://user:pw@example.com/"}, "credentials"),
    ({"url": "https://example.com:99999/"}, "port"),
    ({"url": "https://exa mple.com/"}, "spaces"),
    ({"url": "https://example.com/" + "x" * 2048}, "at most"),
    ({"url": "https://example.com/", "events": "manifest.pushed"}, "list"),
    ({"url": "https://example.com/", "events": []}, "list"),
    ({"url": "https://example.com/", "events": ["manifest.pushed", "image.pushed"]}, "image.pushed"),
    ({"url": "https://example.com/", "description": 5}, "'description'"),
    ({"url": "https://example.com/", "enabled": "yes"}, "'enabled'"),
]


def test_bad_subscriptions_are_refused(env):
    for body, complaint in BAD_SUBSCRIPTIONS:
        status, answer = env.api("POST", "/registries/library/webhooks", body)
        assert complaint in error_of(status, answer, 400, "INVALID_ARGUMENT"), body
    assert env.api("GET", "/registries/library/webhooks") == (200, {"webhooks": []})


def test_a_body_that_is_not_json_is_refused(env):
    status, body = env.api("POST", "/registries/library/webhooks", b"{not json")
    error_of(status, body, 400, "INVALID_JSON")


def test_deliveries_are_listed_newest_first_with_a_limit(env):
    receiver = env.receiver()
    sub = env.subscribe(receiver)
    for n in range(3):
        deliver(event(env, id_=f"ev-{n}"), env.services)
        env.services.clock.advance(minutes=1)
    assert [d["event_id"] for d in env.deliveries(sub)] == ["ev-2", "ev-1", "ev-0"]
    assert [d["event_id"] for d in env.deliveries(sub, limit="2")] == ["ev-2", "ev-1"]
    for limit in ("0", "101", "two", "-1"):  # empty is as if not sent
        status, body = env.api("GET", f"/registries/library/webhooks/{sub['id']}/deliveries", query={"limit": limit})
        assert "'limit'" in error_of(status, body, 400, "INVALID_ARGUMENT")


def test_only_callers_who_manage_the_registry_may_see_or_change_webhooks(env):
    created = env.subscribe(None, url="https://hooks.example.com/x")
    principals = env.services.auth.principals
    principals.create_user("dev", "a-long-dev-password", "test")
    principals.set_role("user", "dev", "library", "Developer", "test")
    dev = env.services.auth.login(Credentials("dev", "a-long-dev-password"))
    dev_token = env.services.auth.issue(dev, parse_scopes([]))["token"]
    routes = [("POST", "/registries/library/webhooks", {"url": "https://hooks.example.com/y"}),
              ("GET", "/registries/library/webhooks", None),
              ("GET", f"/registries/library/webhooks/{created['id']}", None),
              ("GET", f"/registries/library/webhooks/{created['id']}/deliveries", None),
              ("DELETE", f"/registries/library/webhooks/{created['id']}", None)]
    for method, path, body in routes:
        error_of(*env.api(method, path, body, token=dev_token), 403, "DENIED")
        error_of(*env.api(method, path, body, token=None), 401, "UNAUTHORIZED")
    assert env.api("GET", "/registries/library/webhooks")[1]["webhooks"] == [
        {k: v for k, v in created.items() if k != "secret"}]


# ---- the CLI (its API client swapped for one that calls dispatch in-process) --------------------

class InProcessClient:
    def __init__(self, env: Env):
        self.env = env

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        from chalicelib.cli.api import CliError

        parts = urlsplit(path)
        status, answer = self.env.api(method, unquote(parts.path).removeprefix("/api/v1"), body,
                                      dict(parse_qsl(parts.query)))
        if status >= 400:
            raise CliError(f"{answer['error']['message']} ({answer['error']['code']})")
        return answer

    def get(self, path: str) -> dict:
        return self._call("GET", path)

    def post(self, path: str, body: dict) -> dict:
        return self._call("POST", path, body)

    def delete(self, path: str) -> dict:
        return self._call("DELETE", path)


def test_the_webhook_command(env, monkeypatch, capsys):
    from chalicelib.cli.main import main

    monkeypatch.setattr("chalicelib.cli.webhooks.ApiClient", lambda url: InProcessClient(env))
    receiver = env.receiver()

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--url", "http://registry.test", "webhook", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("create", "library", receiver.url, "--event", "manifest.pushed", "--output", "json")
    created = json.loads(out)
    receiver.secret = created["secret"]
    assert code == 0 and created["events"] == ["manifest.pushed"] and created["url"] == receiver.url
    code, out, _ = run("create", "library", "https://hooks.example.com/tags", "--event", "tag.updated",
                       "--event", "tag.deleted", "--description", "tags")
    assert code == 0 and "signing secret (shown once, store it now): " in out
    assert "-> https://hooks.example.com/tags (tag.updated, tag.deleted)" in out

    code, out, _ = run("list", "library")
    header, *rows = out.splitlines()
    assert code == 0 and header.split() == ["ID", "URL", "EVENTS", "ENABLED", "DESCRIPTION"] and len(rows) == 2
    assert any(r.split()[:4] == [created["id"], receiver.url, "manifest.pushed", "yes"] for r in rows)
    assert created["secret"] not in out

    deliver(event(env), env.services)
    code, out, _ = run("deliveries", "library", created["id"])
    assert code == 0 and out.splitlines()[1].split()[1:5] == ["manifest.pushed", "ev-1", "delivered", "1"]
    code, out, _ = run("deliveries", "library", created["id"], "--output", "json", "--limit", "1")
    assert [d["event_id"] for d in json.loads(out)] == ["ev-1"]

    assert run("delete", "library", created["id"]) == (0, f"deleted webhook {created['id']}\n", "")
    code, out, _ = run("list", "library", "--output", "json")
    assert [h["url"] for h in json.loads(out)] == ["https://hooks.example.com/tags"]
    code, _, err = run("create", "library", "https://hooks.example.com/", "--event", "nope")
    assert code == 1 and "unknown event types: nope" in err and "(INVALID_ARGUMENT)" in err
