"""The meter: events -> hourly counters counted exactly once, the stored-bytes gauge, the
usage API (zero-filled, carried forward, authorized) and its EMF metrics."""
from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from pynamodb.exceptions import TransactWriteError

from chalicelib.admin.http import dispatch
from chalicelib.events.model import Event, Target
from chalicelib.metering import usage as meter
from chalicelib.registry.http.base import Request
from chalicelib.events.consumers import IDEMPOTENCY_TTL_S
from chalicelib.store import keys, usage as store_usage
from chalicelib.store.models import UsageItem
from tests.moto_services import moto_services

T0 = datetime(2026, 1, 1, 10, 15, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
ZERO = dict.fromkeys(store_usage.COUNTERS, 0)
PASSWORD = "a-long-test-password"


@pytest.fixture
def services():
    with moto_services() as services:
        services.clock.advance(days=1)  # "now" is a day after the events: markers' TTLs from here
        yield services


@pytest.fixture
def store(services):
    return meter.store_for(services)


def event(type_: str, id_: str, repository: str | None = "team/app", when: datetime = T0,
          registry: str | None = "library", **details) -> Event:
    return Event(id=id_, type=type_, time=when, target=Target(registry=registry, repository=repository),
                 details=details)


def row(store, repository: str | None, hour: datetime = T0, registry: str = "library"):
    found = store.hours(registry, repository, [hour])
    return found.get(store_usage.hour_of(hour))


def counters(store, repository: str | None, hour: datetime = T0) -> dict:
    found = row(store, repository, hour)
    return found.counters if found else dict(ZERO)


# ---- each event type moves exactly its counters ---------------------------------------------

@pytest.mark.parametrize("type_, repository, details, moved, stored", [
    ("manifest.pushed", "team/app", {"bytes": 500}, {"pushes": 1}, None),
    ("artifact.pulled", "team/app", {}, {"pulls": 1}, None),
    ("scan.completed", "team/app", {}, {"scans": 1}, None),
    ("access.denied", "team/app", {"status": 403}, {"errors": 1}, None),
    ("login.failed", None, {"reason": "bad password"}, {"errors": 1}, None),
    ("blob.uploaded", None, {"bytes": 1234}, {"bytes_uploaded": 1234}, None),
    ("blob.linked", "team/app", {"bytes": 77}, {"bytes_linked": 77}, None),
    ("blob.unlinked", "team/app", {"bytes": 77}, {"bytes_linked": -77}, None),
    ("blob.stored", None, {"bytes": 4096}, {}, 4096),
])
def test_each_event_type_moves_exactly_its_counters(services, store, type_, repository, details, moved, stored):
    meter.record(event(type_, "e1", repository, **details), services)
    assert counters(store, None) == {**ZERO, **moved}
    if repository:
        assert counters(store, repository) == {**ZERO, **moved}
    else:
        assert row(store, "team/app") is None
    assert row(store, None).bytes_stored == stored
    assert store.stored("library") == (stored or 0)
    assert row(store, None, T0 + HOUR) is None  # only the event's own hour


def test_events_the_meter_does_not_count_write_nothing(services, store):
    meter.record(event("tag.updated", "e1"), services)
    meter.record(event("login.failed", "e2", repository=None, registry=None), services)  # nobody's usage
    meter.record(event("blob.uploaded", "e3", repository=None, bytes=0), services)
    assert list(UsageItem.scan()) == []


# ---- exactly once -----------------------------------------------------------------------------

def test_the_same_event_applied_twice_counts_once(services, store, capsys):
    pulled = event("artifact.pulled", "api:req-1:artifact.pulled")
    meter.record(pulled, services)
    meter.record(pulled, services)
    assert counters(store, None)["pulls"] == 1
    assert counters(store, "team/app")["pulls"] == 1
    assert capsys.readouterr().out.count('"Pulls"') == 2  # one EMF document (name in definition + value)


def test_a_redelivered_stored_event_moves_the_gauge_once(services, store):
    stored = event("blob.stored", "ddb:1", repository=None, bytes=100)
    for _ in range(3):
        meter.record(stored, services)
    assert store.stored("library") == 100


def test_a_transaction_failing_midway_leaves_nothing(services, store, monkeypatch):
    """The marker and the registry row come first in the transaction; the repository row
    failing afterwards must undo them: a marker without its counters would lose the event."""
    real_update = store_usage.TransactWrite.update

    def failing_update(self, model, actions, condition=None, **kwargs):
        if model.sk.endswith("#team/app"):
            condition = UsageItem.pk.exists()  # the row does not exist yet: the condition fails
        return real_update(self, model, actions, condition=condition, **kwargs)

    monkeypatch.setattr(store_usage.TransactWrite, "update", failing_update)
    monkeypatch.setattr(store_usage, "MAX_ATTEMPTS", 2)
    pushed = event("manifest.pushed", "ddb:push-1")
    with pytest.raises(TransactWriteError):
        meter.record(pushed, services)
    assert not store.counted("library", "ddb:push-1")
    assert row(store, None) is None and row(store, "team/app") is None

    monkeypatch.undo()  # the retry (SQS redelivers) counts it, once
    meter.record(pushed, services)
    assert store.counted("library", "ddb:push-1")
    assert counters(store, None)["pushes"] == counters(store, "team/app")["pushes"] == 1


def test_the_marker_outlives_every_redelivery(services):
    """A queue keeps a message 14 days and the idempotency record lives 15: the marker must
    outlast both, or a late redrive would count an event twice."""
    meter.record(event("artifact.pulled", "e1"), services)
    marker = UsageItem.get(keys.usage_pk("library"), keys.usage_event_sk("e1"))
    now = services.clock.now().timestamp()
    assert IDEMPOTENCY_TTL_S < marker.ttl - now <= 16 * 86400
    assert 14 * 86400 < IDEMPOTENCY_TTL_S


def test_counters_stay_exact_under_concurrency(services, store):
    """8 threads apply 200 distinct events, each delivered twice (SQS is at-least-once)."""
    events, expected_stored = [], 0
    for i in range(200):
        when = T0 + HOUR * (i % 2)
        repository = f"team/app{i % 3}"
        kind = i % 5
        if kind == 0:
            events.append(event("artifact.pulled", f"pull-{i}", repository, when))
        elif kind == 1:
            events.append(event("manifest.pushed", f"push-{i}", repository, when))
        elif kind == 2:
            events.append(event("blob.uploaded", f"up-{i}", None, when, bytes=i))
        elif kind == 3:
            events.append(event("blob.stored", f"stored-{i}", None, when, bytes=1000 + i))
            expected_stored += 1000 + i
        else:
            events.append(event("blob.deleted", f"deleted-{i}", None, when, bytes=i))
            expected_stored -= i
    start = threading.Barrier(8)

    def apply(batch):
        start.wait()  # all threads at once, not one after another as they are created
        for e in batch:
            meter.record(e, services)

    deliveries = events + events[::-1]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(apply, [deliveries[k::8] for k in range(8)]))

    hours = [T0, T0 + HOUR]
    totals = {name: sum(counters(store, None, h)[name] for h in hours) for name in ZERO}
    assert totals == {**ZERO, "pulls": 40, "pushes": 40, "bytes_uploaded": sum(range(2, 200, 5))}
    per_repo = sum(counters(store, f"team/app{r}", h)["pulls"] for r in range(3) for h in hours)
    assert per_repo == 40
    assert store.stored("library") == expected_stored
    markers = UsageItem.query(keys.usage_pk("library"), UsageItem.sk.startswith(keys.usage_event_sk("")))
    assert len(list(markers)) == 200


# ---- stored bytes -----------------------------------------------------------------------------

def test_the_stored_bytes_gauge_goes_up_and_down(services, store):
    meter.record(event("blob.stored", "s1", None, T0, bytes=100), services)
    meter.record(event("blob.stored", "s2", None, T0, bytes=50), services)
    assert row(store, None, T0).bytes_stored == 150
    meter.record(event("blob.deleted", "d1", None, T0 + 2 * HOUR, bytes=100), services)
    assert store.stored("library") == 50
    assert row(store, None, T0).bytes_stored == 150  # that hour ended at 150
    assert row(store, None, T0 + 2 * HOUR).bytes_stored == 50
    meter.record(event("blob.deleted", "d2", None, T0 + 2 * HOUR, bytes=50), services)
    meter.record(event("blob.stored", "s3", None, T0 + 3 * HOUR, bytes=7), services)  # up again from 0
    assert store.stored("library") == 7
    assert row(store, None, T0 + 2 * HOUR).bytes_stored == 0


def test_registries_are_metered_apart(services, store):
    meter.record(event("blob.stored", "s1", None, registry="library", bytes=100), services)
    meter.record(event("blob.stored", "s1", None, registry="acme", bytes=30), services)  # same id, other registry
    assert (store.stored("library"), store.stored("acme")) == (100, 30)


# ---- the usage API ----------------------------------------------------------------------------

def api(services, user: str, query: dict | None = None, registry: str = "library") -> tuple[int, dict]:
    auth = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
    request = Request("GET", f"/registries/{registry}/usage", query={k: (v,) for k, v in (query or {}).items()},
                      headers={"authorization": (f"Basic {auth}",)}, source_ip="127.0.0.1", request_id="r1")
    response = dispatch(request, services)
    return response.status, json.loads(response.body)


def add_user(services, name: str, role: str | None) -> None:
    services.auth.principals.create_user(name, PASSWORD, "test")
    if role:
        services.auth.principals.set_role("user", name, "library", role, "test")


@pytest.fixture
def users(services):
    add_user(services, "billing", "BillingViewer")


def test_the_api_zero_fills_and_carries_stored_bytes_forward(services, users):
    meter.record(event("blob.stored", "s1", None, T0 - 5 * HOUR, bytes=100), services)  # before the range
    meter.record(event("artifact.pulled", "p1", "team/app", T0), services)
    meter.record(event("artifact.pulled", "p2", "team/other", T0), services)
    meter.record(event("blob.stored", "s2", None, T0 + 2 * HOUR, bytes=50), services)
    status, body = api(services, "billing", {"from": "2026-01-01T09:00:00Z", "to": "2026-01-01T14:00Z"})
    assert status == 200, body
    assert [b["start"] for b in body["buckets"]] == [f"2026-01-01T{h:02d}:00:00Z" for h in range(9, 14)]
    assert [b["pulls"] for b in body["buckets"]] == [0, 2, 0, 0, 0]
    assert [b["bytes_stored"] for b in body["buckets"]] == [100, 100, 100, 150, 150]
    assert body["buckets"][0] == {"start": "2026-01-01T09:00:00Z", **ZERO, "bytes_stored": 100}
    assert body["totals"] == {**ZERO, "pulls": 2, "bytes_stored": 150}

    status, body = api(services, "billing", {"from": "2026-01-01T09:00:00Z", "to": "2026-01-01T14:00Z",
                                             "repository": "team/app"})
    assert [b["pulls"] for b in body["buckets"]] == [0, 1, 0, 0, 0]
    assert {b["bytes_stored"] for b in body["buckets"]} == {None}  # registry-wide only


def test_the_api_sums_days_and_defaults_to_the_last_24_hours(services, users):
    meter.record(event("artifact.pulled", "p1", "team/app", T0), services)
    meter.record(event("artifact.pulled", "p2", "team/app", T0 + 20 * HOUR), services)  # the next day
    meter.record(event("blob.stored", "s1", None, T0, bytes=10), services)
    status, body = api(services, "billing", {"from": "2026-01-01", "to": "2026-01-03", "granularity": "day"})
    assert status == 200, body
    assert [(b["start"], b["pulls"], b["bytes_stored"]) for b in body["buckets"]] == [
        ("2026-01-01T00:00:00Z", 1, 10), ("2026-01-02T00:00:00Z", 1, 10)]
    status, body = api(services, "billing")  # now: 2026-01-02T00:00 -> 2026-01-01T01:00 .. 2026-01-02T00:00
    assert len(body["buckets"]) == 24
    assert (body["from"], body["to"]) == ("2026-01-01T01:00:00Z", "2026-01-02T01:00:00Z")
    assert sum(b["pulls"] for b in body["buckets"]) == 1  # 10:15 is in; 06:15 the next day is not yet


@pytest.fixture(scope="class")
def shared():
    """Services for requests that change nothing, set up once per class (moto costs a second)."""
    with moto_services() as services:
        for name, role in (("billing", "BillingViewer"), ("auditor", "Auditor"), ("dev", "Developer"),
                           ("nobody", None)):
            add_user(services, name, role)
        yield services


class TestRefusals:

    @pytest.mark.parametrize("user, status", [("billing", 200), ("auditor", 403), ("dev", 403), ("nobody", 403)])
    def test_usage_needs_billing_read(self, shared, user, status):
        assert api(shared, user)[0] == status

    def test_a_role_in_one_registry_shows_no_other(self, shared):
        shared.registries.ensure("acme", "test")
        status, body = api(shared, "billing", registry="acme")
        assert status == 403 and body["error"]["code"] == "DENIED"

    @pytest.mark.parametrize("query, code", [
        ({"from": "yesterday"}, "INVALID_ARGUMENT"),
        ({"to": "2026-13-01"}, "INVALID_ARGUMENT"),
        ({"granularity": "week"}, "INVALID_ARGUMENT"),
        ({"from": "2026-01-02T00:00Z", "to": "2026-01-01T00:00Z"}, "INVALID_ARGUMENT"),
        ({"from": "2025-01-01", "to": "2026-01-01"}, "INVALID_ARGUMENT"),  # longer than the cap
        ({"from": "2025-12-01", "to": "2026-01-01"}, None),  # 31 days: just within it
        ({"from": "9999-12-31T23:30"}, "INVALID_ARGUMENT"),  # no hour after it
        ({"repository": "Team/App"}, "NAME_INVALID"),
    ])
    def test_bad_input_is_a_400_with_an_error_body(self, shared, query, code):
        status, body = api(shared, "billing", query)
        if code is None:
            assert status == 200 and len(body["buckets"]) == 31 * 24
            return
        assert status == 400, body
        assert body["error"]["code"] == code and body["error"]["message"]


# ---- EMF metrics ------------------------------------------------------------------------------

def _emf(output: str) -> list[dict]:
    return [doc for doc in map(json.loads, filter(None, output.splitlines())) if "_aws" in doc]


def test_emf_metrics_carry_the_registry_dimension_only(services, capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "moorage")  # would add a `service` dimension
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "moorage-test")
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    meter.record(event("artifact.pulled", "p1", "team/app"), services)
    meter.record(event("blob.stored", "s1", None, bytes=64), services)
    output = capsys.readouterr().out
    pulled, stored = _emf(output)
    directive = pulled["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "moorage-test"
    assert directive["Dimensions"] == [["registry"]]
    assert pulled["registry"] == "library" and pulled["Pulls"] == [1.0]
    assert stored["BytesStored"] == [64.0]
    assert "team/app" not in output and "service" not in pulled


# ---- the CLI ----------------------------------------------------------------------------------

def test_cli_asks_for_the_range_and_prints_a_table(monkeypatch, capsys):
    from chalicelib.cli import main as cli

    asked = []
    bucket = {"start": "2026-01-01T10:00:00Z", **ZERO, "pulls": 3, "bytes_stored": 1024}
    report = {"buckets": [bucket], "totals": {**ZERO, "pulls": 3, "bytes_stored": 1024}}
    monkeypatch.setattr("chalicelib.cli.api.ApiClient.__init__", lambda self, url: None)
    monkeypatch.setattr("chalicelib.cli.api.ApiClient.get", lambda self, path: asked.append(path) or report)
    assert cli.main(["usage", "library", "--from", "2026-01-01T00:00Z", "--repository", "team/app"]) == 0
    url = urlsplit(asked[0])
    assert url.path == "/api/v1/registries/library/usage"
    assert parse_qs(url.query) == {"from": ["2026-01-01T00:00Z"], "repository": ["team/app"],
                                   "granularity": ["hour"]}
    header, line, total = capsys.readouterr().out.splitlines()
    assert header.split() == ["START", "PULLS", "PUSHES", "BYTES_UPLOADED", "SCANS", "ERRORS", "BYTES_LINKED",
                              "BYTES_STORED"]
    assert line.split() == ["2026-01-01T10:00:00Z", "3", "0", "0", "0", "0", "0", "1024"]
    assert total.split()[:2] == ["TOTAL", "3"]


# ---- through the consumer -----------------------------------------------------------------------

def test_the_meter_consumer_counts_a_redelivered_message_once(services, store):
    from chalicelib.events.consumers import consumer, process_batch

    body = event("artifact.pulled", "api:req-9:artifact.pulled").to_json()
    messages = [{"messageId": "m1", "body": body}, {"messageId": "m2", "body": body}]
    assert process_batch(consumer("meter"), messages, services) == {"batchItemFailures": []}
    assert counters(store, "team/app")["pulls"] == 1


def test_ranges_cover_whole_hours_and_days():
    from chalicelib.metering.report import resolve_range

    now = datetime(2026, 1, 2, 6, 30, tzinfo=timezone.utc)
    assert resolve_range(None, None, "hour", now) == (datetime(2026, 1, 1, 7, tzinfo=timezone.utc),
                                                      datetime(2026, 1, 2, 7, tzinfo=timezone.utc))
    # The last 24 hours touch two days: both are reported.
    assert resolve_range(None, None, "day", now) == (datetime(2026, 1, 1, tzinfo=timezone.utc),
                                                     datetime(2026, 1, 3, tzinfo=timezone.utc))
    naive = datetime(2026, 1, 1, 10, 30)  # no offset: UTC
    assert resolve_range(naive, naive + HOUR, "hour", now) == (datetime(2026, 1, 1, 10, tzinfo=timezone.utc),
                                                               datetime(2026, 1, 1, 12, tzinfo=timezone.utc))
