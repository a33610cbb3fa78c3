"""The audit log: the consumer appends each event once (TTL from the retention), the store
answers by registry, filters and time, newest first, in pages that together hold every
record once; /api/v1/audit authorizes per registry or deployment-wide, refuses bad input
with 400s and has no way to change a record; `moorage audit` follows the pages."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from chalicelib.admin.http import dispatch
from chalicelib.auth.scopes import parse_scopes
from chalicelib.auth.service import Credentials
from chalicelib.cli import audit as cli_audit
from chalicelib.cli.api import ApiClient
from chalicelib.cli.main import main
from chalicelib.clock import epoch
from chalicelib.events.audit import record, store_for
from chalicelib.events.model import Actor, Event, Target
from chalicelib.registry.http.base import Request
from chalicelib.store import keys
from chalicelib.store.audit import AuditQueryError, AuditStore, make_cursor
from tests.moto_services import moto_services

PASSWORD = "a-long-test-password"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)  # the ManualClock's start


def event(id_: str, when: datetime, type_: str = "manifest.pushed", registry: str | None = "library",
          repository: str | None = "team/app", principal: str = "user:alice", **extra) -> Event:
    return Event(id=id_, type=type_, time=when, actor=Actor(principal, "10.0.0.9", "docker/27"),
                 target=Target(registry, repository, "1" if repository else None,
                               "sha256:" + "a" * 64 if repository else None), **extra)


def ids(records) -> list[str]:
    return [r.id if hasattr(r, "id") else r["id"] for r in records]


@dataclass
class Env:
    services: object
    tokens: dict[str, str]

    def api(self, method: str, path: str, query: dict | None = None, who: str = "admin") -> tuple[int, dict]:
        request = Request(method, path, {k: (v,) for k, v in (query or {}).items()},
                          {"authorization": (f"Bearer {self.tokens[who]}",)}, source_ip="127.0.0.1",
                          request_id="test")
        response = dispatch(request, self.services)
        return response.status, json.loads(response.body)

    def error(self, query: dict, status: int = 400, code: str = "INVALID_ARGUMENT", who: str = "admin") -> str:
        got, body = self.api("GET", "/audit", query, who)
        assert got == status, body
        assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], body
        return body["error"]["message"]


@pytest.fixture
def services():
    with moto_services(MOORAGE_AUDIT_RETENTION_DAYS="30") as services:
        services.registries.ensure("other", "test")
        yield services


@pytest.fixture
def env(services):
    """An administrator, a library Auditor and a library Developer (no audit:Read), with tokens."""
    principals = services.auth.principals
    principals.ensure_admin("admin", PASSWORD)
    for name, role in (("auditor", "Auditor"), ("dev", "Developer")):
        principals.create_user(name, PASSWORD, "test")
        principals.set_role("user", name, "library", role, "test")
    tokens = {name: services.auth.issue(services.auth.login(Credentials(name, PASSWORD)), parse_scopes([]))["token"]
              for name in ("admin", "auditor", "dev")}
    return Env(services, tokens)


@pytest.fixture
def log(services):
    """Events in three partitions over three days; newest first: e9 ... e1."""
    made = [
        event("e1", T0 - timedelta(days=2, hours=1)),
        event("e2", T0 - timedelta(days=2), type_="tag.updated", repository="team/web"),
        event("e3", T0 - timedelta(days=1, hours=5), type_="login.succeeded", registry=None, repository=None),
        event("e4", T0 - timedelta(days=1, hours=5), registry="other"),  # same time as e3: order by id
        event("e5", T0 - timedelta(hours=20), principal="user:bob"),
        event("e6", T0 - timedelta(hours=3), type_="principal.changed", registry=None, repository=None,
              principal="user:admin"),
        event("e7", T0 - timedelta(hours=2), type_="access.denied", registry="other", principal="user:bob",
              result="denied"),
        event("e8", T0 - timedelta(hours=1), type_="tag.updated"),
        event("e9", T0, type_="artifact.pulled", repository="team/web", principal="anonymous"),
    ]
    for e in made:
        record(e, services)
    return made


def walk(query) -> list[list[str]]:
    pages, cursor = [], None
    for _ in range(100):  # a cursor that does not move on must fail the test, not hang it
        records, cursor = query(cursor)
        pages.append(ids(records))
        if cursor is None:
            return pages
    raise AssertionError(f"no last page after 100 pages: {pages[-3:]}")


# ---- appending -------------------------------------------------------------------------------

def test_a_redelivered_event_is_recorded_once(services):
    pushed = event("once", T0)
    store = store_for(services)
    assert store.append(pushed, 30) is True
    assert store.append(pushed, 30) is False  # the failed condition is no error
    record(pushed, services)
    records, cursor = store.query("library", T0 - timedelta(hours=1), T0)
    assert ids(records) == ["once"] and cursor is None
    [got] = records
    assert (got.type, got.time, got.principal, got.source_ip, got.user_agent) == (
        "manifest.pushed", T0, "user:alice", "10.0.0.9", "docker/27")
    assert (got.registry, got.repository, got.tag, got.digest, got.result) == (
        "library", "team/app", "1", "sha256:" + "a" * 64, "success")


def test_records_expire_after_the_retention(services):
    when = T0 - timedelta(hours=5)
    record(event("kept", when, details={"bytes": 12}), services)  # the fixture keeps 30 days
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    item = dynamodb.get_item(TableName="test-table", Key={
        "pk": {"S": keys.audit_pk("library", "2025-12-31")}, "sk": {"S": keys.audit_sk(when, "kept")}})["Item"]
    assert int(item["ttl"]["N"]) == epoch(when) + 30 * 24 * 3600
    assert item["kind"]["S"] == "audit" and json.loads(item["details"]["S"]) == {"bytes": 12}


def test_a_shorter_retention_later_does_not_hide_older_records_of_the_day(services):
    mark = {"pk": {"S": keys.audit_days_pk("2026-01-01")}, "sk": {"S": "library"}}
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    AuditStore().append(event("long", T0), 365)
    AuditStore().append(event("short", T0 + timedelta(hours=1)), 7)  # a new store: it writes its mark again
    ttl = int(dynamodb.get_item(TableName="test-table", Key=mark)["Item"]["ttl"]["N"])
    assert ttl == epoch(T0) + 366 * 24 * 3600


def test_events_without_a_registry_go_to_the_deployment_partition(services, log):
    records, _ = AuditStore().query(keys.AUDIT_NO_REGISTRY, T0 - timedelta(days=3), T0)
    assert ids(records) == ["e6", "e3"]
    assert [r.registry for r in records] == [None, None]


# ---- querying --------------------------------------------------------------------------------

def test_a_registry_log_is_newest_first_across_days(services, log):
    records, cursor = AuditStore().query("library", T0 - timedelta(days=3), T0)
    assert ids(records) == ["e9", "e8", "e5", "e2", "e1"] and cursor is None


def test_the_deployment_log_merges_every_partition_in_time_order(services, log):
    records, _ = AuditStore().query(None, T0 - timedelta(days=3), T0)
    assert ids(records) == ["e9", "e8", "e7", "e6", "e5", "e4", "e3", "e2", "e1"]
    times = [r.time for r in records]
    assert times == sorted(times, reverse=True)


def test_the_deployment_log_keeps_registries_that_are_gone(services):
    record(event("gone", T0, registry="deleted-since"), services)  # never in the registry list
    records, _ = AuditStore().query(None, T0 - timedelta(hours=1), T0)
    assert ids(records) == ["gone"]


@pytest.mark.parametrize("filters, expected", [
    ({"repository": "team/web"}, ["e9", "e2"]),
    ({"actor": "user:bob"}, ["e5"]),
    ({"action": "tag.updated"}, ["e8", "e2"]),
    ({"action": "tag.updated", "repository": "team/app"}, ["e8"]),
    ({"actor": "user:nobody"}, []),
])
def test_filters_in_a_registry(services, log, filters, expected):
    records, _ = AuditStore().query("library", T0 - timedelta(days=3), T0, **filters)
    assert ids(records) == expected


def test_filters_across_the_deployment(services, log):
    query = AuditStore().query
    assert ids(query(None, T0 - timedelta(days=3), T0, actor="user:bob")[0]) == ["e7", "e5"]
    assert ids(query(None, T0 - timedelta(days=3), T0, action="login.succeeded")[0]) == ["e3"]


def test_the_time_range_is_inclusive_at_both_ends(services, log):
    e5, e8 = log[4].time, log[7].time
    query = AuditStore().query
    assert ids(query("library", e5, e8)[0]) == ["e8", "e5"]
    micro = timedelta(microseconds=1)
    assert ids(query("library", e5 + micro, e8 - micro)[0]) == []
    assert ids(query(None, log[2].time, log[2].time)[0]) == ["e4", "e3"]  # one instant, two partitions


@pytest.mark.parametrize("limit", [1, 2, 4, 9])
def test_pages_hold_every_record_exactly_once(services, log, limit):
    store = AuditStore()
    pages = walk(lambda cursor: store.query(None, T0 - timedelta(days=3), T0, limit=limit, cursor=cursor))
    assert [len(p) for p in pages[:-1]] == [limit] * (len(pages) - 1) and 0 < len(pages[-1]) <= limit
    assert [i for p in pages for i in p] == ["e9", "e8", "e7", "e6", "e5", "e4", "e3", "e2", "e1"]


def test_pages_of_many_records_at_one_instant(services):
    for n in range(25):
        record(event(f"same-{n:02d}", T0, registry=("library", "other")[n % 2]), services)
    store = AuditStore()
    pages = walk(lambda cursor: store.query(None, T0, T0, limit=7, cursor=cursor))
    assert [len(p) for p in pages] == [7, 7, 7, 4]
    assert [i for p in pages for i in p] == [f"same-{n:02d}" for n in reversed(range(25))]


def test_bad_queries_are_refused_with_a_reason(services):
    query = AuditStore().query
    with pytest.raises(AuditQueryError, match="at most 400 days"):
        query("library", T0 - timedelta(days=401), T0)
    query("library", T0 - timedelta(days=400), T0)  # the cap itself is allowed
    with pytest.raises(AuditQueryError, match="later"):
        query("library", T0, T0 - timedelta(seconds=1))
    for limit in (0, 1001):
        with pytest.raises(AuditQueryError, match="limit"):
            query("library", T0 - timedelta(days=1), T0, limit=limit)


@pytest.mark.parametrize("cursor", [
    "not base64!", "e30", make_cursor("yesterday"), make_cursor("2026-13-45T00:00:00.000000Z#x"),
    "WyJhIl0", "bnVsbA", "A" * 2000, make_cursor("2026-01-01T00:00:00.000000Z#") + "=",
])
def test_a_garbled_or_forged_cursor_is_refused(services, cursor):
    with pytest.raises(AuditQueryError, match="cursor"):
        AuditStore().query("library", T0 - timedelta(days=1), T0, cursor=cursor)


def test_a_cursor_before_the_range_gives_an_empty_last_page(services, log):
    cursor = make_cursor(keys.audit_sk(T0 - timedelta(days=9), "x"))
    assert AuditStore().query("library", T0 - timedelta(days=3), T0, cursor=cursor) == ([], None)


# ---- /api/v1/audit -----------------------------------------------------------------------------

def test_the_api_answers_records_in_the_events_shape(env, log):
    status, body = env.api("GET", "/audit", {"registry": "library", "from": "2025-12-31T00:00:00Z"})
    assert status == 200, body
    assert ids(body["records"]) == ["e9", "e8", "e5"] and body["next_cursor"] is None
    assert body["records"][1] == {
        "id": "e8", "type": "tag.updated", "time": "2025-12-31T23:00:00.000000+00:00",
        "actor": {"principal": "user:alice", "source_ip": "10.0.0.9", "user_agent": "docker/27"},
        "target": {"registry": "library", "repository": "team/app", "tag": "1", "digest": "sha256:" + "a" * 64},
        "result": "success", "details": {}}
    assert Event.from_json(json.dumps(body["records"][1])) == log[7]


def test_the_api_defaults_to_the_last_24_hours(env, log):
    status, body = env.api("GET", "/audit")
    assert status == 200, body
    assert ids(body["records"]) == ["e9", "e8", "e7", "e6", "e5"]
    assert (body["from"], body["to"]) == ("2025-12-31T00:00:00.000000+00:00", "2026-01-01T00:00:00.000000+00:00")


def test_the_api_pages_with_its_cursor(env, log):
    seen, cursor = [], None
    for _ in range(20):  # bounded: a stuck cursor fails instead of hanging
        status, body = env.api("GET", "/audit", {"from": "2025-12-01T00:00Z", "limit": "4",
                                                 **({"cursor": cursor} if cursor else {})})
        assert status == 200, body
        seen.extend(ids(body["records"]))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["e9", "e8", "e7", "e6", "e5", "e4", "e3", "e2", "e1"]


def test_a_registry_auditor_sees_only_their_registry(env, log):
    status, body = env.api("GET", "/audit", {"registry": "library", "from": "2025-12-01T00:00Z"}, who="auditor")
    assert status == 200, body
    assert ids(body["records"]) == ["e9", "e8", "e5", "e2", "e1"]
    assert "auditor" in env.error({"registry": "other"}, 403, "DENIED", who="auditor")
    env.error({}, 403, "DENIED", who="auditor")  # the deployment-wide log: logins, other registries
    env.error({"actor": "user:admin"}, 403, "DENIED", who="auditor")


def test_a_user_without_audit_read_is_refused(env, log):
    env.error({"registry": "library"}, 403, "DENIED", who="dev")
    env.error({}, 403, "DENIED", who="dev")


def test_a_deployment_auditor_needs_audit_read_on_the_iam_resource(env, log):
    principals = env.services.auth.principals
    principals.put_policy("user", "dev", "DeploymentAudit", {"Statement": [
        {"Effect": "Allow", "Action": "audit:Read", "Resource": "mrn:iam:principals"}]}, "test")
    status, body = env.api("GET", "/audit", {"from": "2025-12-01T00:00Z"}, who="dev")
    assert status == 200 and len(body["records"]) == 9, body
    status, body = env.api("GET", "/audit", {"registry": "other"}, who="dev")
    assert status == 403, body  # the IAM resource is the deployment's log, not a registry's


@pytest.mark.parametrize("query, words", [
    ({"from": "yesterday"}, "'from' must be an ISO 8601"),
    ({"to": "2026-02-30T00:00Z"}, "'to' must be an ISO 8601"),
    ({"from": "0001-01-01T00:00+05:00"}, "'from' must be an ISO 8601"),
    ({"to": "0001-01-01T00:00Z"}, "'from' must be given"),
    ({"from": "2026-01-01T00:00Z", "to": "2025-12-31T00:00Z"}, "later"),
    ({"from": "2024-01-01T00:00Z"}, "at most 400 days"),
    ({"limit": "0"}, "'limit'"), ({"limit": "1001"}, "'limit'"), ({"limit": "ten"}, "'limit'"),
    ({"limit": "²"}, "'limit'"), ({"limit": "-1"}, "'limit'"),
    ({"action": "manifest.push"}, "unknown action"),
    ({"cursor": "garbage"}, "'cursor'"),
    ({"regsitry": "library"}, "unknown parameter"),
    ({"actor": "x" * 300}, "'actor' is at most"),
])
def test_bad_parameters_get_400_with_a_reason(env, query, words):
    assert words in env.error(query)


def test_a_bad_registry_name_is_400(env):
    env.error({"registry": "Not A Registry"}, 400, "NAME_INVALID")


@pytest.mark.parametrize("method, path, status", [
    ("PUT", "/audit", 405), ("POST", "/audit", 405), ("DELETE", "/audit", 405), ("PATCH", "/audit", 405),
    ("DELETE", "/audit/e1", 404), ("PUT", "/audit/e1", 404),
])
def test_no_api_changes_a_record(env, log, method, path, status):
    got, body = env.api(method, path)
    assert got == status and body["error"]["code"] in ("METHOD_NOT_ALLOWED", "NOT_FOUND"), body
    records, _ = AuditStore().query(None, T0 - timedelta(days=3), T0)
    assert len(records) == 9


# ---- moorage audit ------------------------------------------------------------------------------

class DispatchSession:
    """What ApiClient needs of a requests.Session, answered by the admin dispatch in-process."""

    def __init__(self, env: Env):
        self.env, self.queries = env, []

    def request(self, method: str, url: str, timeout=None, **_) -> requests.Response:
        parts = urlsplit(url)
        query = {k: tuple(v) for k, v in parse_qs(parts.query).items()}
        self.queries.append({k: v[-1] for k, v in query.items()})
        answer = dispatch(Request(method, parts.path.removeprefix("/api/v1"), query,
                                  {"authorization": (f"Bearer {self.env.tokens['admin']}",)}), self.env.services)
        response = requests.Response()
        response.status_code, response._content = answer.status, answer.body
        return response


@pytest.fixture
def cli(env, monkeypatch):
    session = DispatchSession(env)
    monkeypatch.setattr(cli_audit, "ApiClient", lambda url: ApiClient(url, session=session))
    return session


def test_the_cli_follows_pages_until_the_limit(env, log, cli, capsys, monkeypatch):
    monkeypatch.setattr(cli_audit, "PAGE_MAX", 3)
    assert main(["--url", "http://registry", "audit", "--from", "2025-12-01T00:00Z", "--limit", "7",
                 "--output", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert ids(json.loads(line) for line in lines) == ["e9", "e8", "e7", "e6", "e5", "e4", "e3"]
    assert [q["limit"] for q in cli.queries] == ["3", "3", "1"]
    assert "cursor" not in cli.queries[0] and all("cursor" in q for q in cli.queries[1:])


def test_the_cli_stops_at_the_end_of_the_log(env, log, cli, capsys):
    assert main(["--url", "http://registry", "audit", "--registry", "library", "--action", "tag.updated",
                 "--from", "2025-12-01T00:00Z", "--limit", "50", "--output", "jsonl"]) == 0
    assert ids(json.loads(line) for line in capsys.readouterr().out.splitlines()) == ["e8", "e2"]
    assert cli.queries == [{"registry": "library", "action": "tag.updated", "from": "2025-12-01T00:00Z",
                            "limit": "50"}]


def test_the_cli_writes_csv_no_spreadsheet_runs(env, cli, capsys):
    record(Event(id="csv", type="login.failed", time=T0, actor=Actor("anonymous", "10.1.1.1", "=HYPERLINK(1)"),
                 result="failed"), env.services)
    assert main(["--url", "http://registry", "audit", "--output", "csv"]) == 0
    header, row = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    got = dict(zip(header, row))
    assert (got["id"], got["type"], got["result"], got["principal"]) == ("csv", "login.failed", "failed", "anonymous")
    assert got["user_agent"] == "'=HYPERLINK(1)" and got["registry"] == ""


def test_the_cli_table_shows_no_control_characters(env, cli, capsys):
    record(event("tty", T0, principal="user:\x1b[31mred"), env.services)
    assert main(["--url", "http://registry", "audit"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "user:?[31mred" in out and "library/team/app:1@sha256:aaaaaaaaaaaa" in out


def test_the_cli_reports_api_errors(env, cli, capsys):
    assert main(["--url", "http://registry", "audit", "--from", "nonsense"]) == 1
    assert "'from' must be an ISO 8601" in capsys.readouterr().err
