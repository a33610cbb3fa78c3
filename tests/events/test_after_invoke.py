"""The internal Lambda extension that sends the API function's buffered events after each
invocation, against a stand-in of the Extensions API on 127.0.0.1."""
from __future__ import annotations

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.events import after_invoke
from chalicelib.events.after_invoke import AfterInvokeFlusher

WAIT = 10  # seconds; generous for a busy machine, never reached when all is well


class ExtensionsApi:
    """Records registrations; answers each /event/next with the next event a test hands it."""

    def __init__(self):
        self.registrations: list[tuple[dict, dict]] = []
        self.nexts: queue.Queue[str] = queue.Queue()  # the identifier of each /next call, as it arrives
        self.events: queue.Queue[dict] = queue.Queue()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.registrations.append((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Lambda-Extension-Identifier", "ext-1")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def do_GET(self):
                api.nexts.put(self.headers.get("Lambda-Extension-Identifier"))
                data = json.dumps(api.events.get()).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, deadline_in_s: float = 60) -> None:
        self.events.put({"eventType": "INVOKE", "requestId": "r", "deadlineMs": int((time.time() + deadline_in_s) * 1000)})

    def close(self) -> None:
        self.events.put({"eventType": "SHUTDOWN"})  # ends the extension's thread
        self.server.shutdown()


@pytest.fixture
def api():
    api = ExtensionsApi()
    yield api
    api.close()


class Flushes:
    def __init__(self, fail_first: bool = False):
        self.done: queue.Queue[float] = queue.Queue()
        self._fail = fail_first

    def __call__(self):
        self.done.put(time.monotonic())
        if self._fail:
            self._fail = False
            raise RuntimeError("SQS unavailable")


def test_it_registers_for_invokes_under_its_name_and_then_waits_for_the_first(api):
    AfterInvokeFlusher(api.address, Flushes()).register()
    headers, body = api.registrations[0]
    assert body == {"events": ["INVOKE"]}
    assert headers["Lambda-Extension-Name"] == after_invoke.EXTENSION_NAME
    assert api.nexts.get(timeout=WAIT) == "ext-1"


def test_it_flushes_when_the_invocation_ends_and_only_then_asks_for_the_next(api):
    flushes = Flushes()
    flusher = AfterInvokeFlusher(api.address, flushes)
    flusher.register()
    api.nexts.get(timeout=WAIT)
    api.invoke()
    time.sleep(0.3)  # the invocation is still running: nothing is sent, the instance may not freeze
    assert flushes.done.empty() and api.nexts.empty()
    flusher.invocation_ended()
    flushed_at = flushes.done.get(timeout=WAIT)
    assert api.nexts.get(timeout=WAIT) == "ext-1" and time.monotonic() >= flushed_at
    # an invocation that ends before the extension hears of it is flushed too, once
    flusher.invocation_ended()
    api.invoke()
    flushes.done.get(timeout=WAIT)
    api.nexts.get(timeout=WAIT)
    assert flushes.done.empty()


def test_an_invocation_that_never_says_it_ended_is_flushed_before_its_deadline(api):
    flushes = Flushes()
    AfterInvokeFlusher(api.address, flushes).register()
    api.nexts.get(timeout=WAIT)
    api.invoke(deadline_in_s=after_invoke.MARGIN_MS / 1000 + 0.2)
    flushes.done.get(timeout=WAIT)
    api.nexts.get(timeout=WAIT)


def test_a_failing_flush_does_not_keep_the_instance_from_its_next_invocation(api):
    flushes = Flushes(fail_first=True)
    flusher = AfterInvokeFlusher(api.address, flushes)
    flusher.register()
    api.nexts.get(timeout=WAIT)
    for _ in range(2):
        api.invoke()
        flusher.invocation_ended()
        flushes.done.get(timeout=WAIT)
        api.nexts.get(timeout=WAIT)


def test_nothing_registers_off_lambda_or_in_the_other_functions(api, monkeypatch):
    monkeypatch.setattr(after_invoke, "_flusher", None)
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    monkeypatch.setenv("MOORAGE_FLUSH_AFTER_INVOKE", "1")
    after_invoke.start_if_configured(Flushes())
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", api.address)
    monkeypatch.delenv("MOORAGE_FLUSH_AFTER_INVOKE")
    after_invoke.start_if_configured(Flushes())
    assert api.registrations == [] and after_invoke._flusher is None
    after_invoke.invocation_ended()  # harmless without an extension


def test_the_api_function_registers_and_its_requests_end_invocations(api, monkeypatch):
    monkeypatch.setattr(after_invoke, "_flusher", None)
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", api.address)
    monkeypatch.setenv("MOORAGE_FLUSH_AFTER_INVOKE", "1")
    flushes = Flushes()
    after_invoke.start_if_configured(flushes)
    assert len(api.registrations) == 1 and after_invoke._flusher is not None
    api.nexts.get(timeout=WAIT)
    api.invoke()

    import app
    from chalicelib.local.events import LambdaContext, rest_event

    event = rest_event("GET", "/api/v1/no-such-thing", "", [], b"", "127.0.0.1", "/api/v1/{proxy+}",
                       {"proxy": "no-such-thing"}, frozenset({"application/json"}))

    def no_services():
        raise RuntimeError("the handler failed")

    monkeypatch.setattr(app, "default_services", no_services)
    answer = app.app(event, LambdaContext("r"))
    assert answer["statusCode"] == 500  # even a failed invocation ends, and its events are sent
    flushes.done.get(timeout=WAIT)
    api.nexts.get(timeout=WAIT)
