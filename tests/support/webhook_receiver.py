"""A webhook receiver for tests: an http.server on 127.0.0.1, in a thread, that checks every
request as a careful receiver would (signature over timestamp and body, timestamp fresh,
headers naming the body's event) and can be told to fail, or to redirect, N times.

It computes the HMAC itself rather than calling the sender's code, so a wrong signature
on the sending side cannot be mirrored by the check."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

TOLERANCE_S = 300  # how old a timestamp a receiver accepts (replays of older ones are refused)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class Receiver:
    def __init__(self, now: Callable[[], int], fail_times: int = 0, fail_status: int = 500,
                 redirect_to: str | None = None):
        self.now = now
        self.secret: str | None = None  # set once the subscription (and its secret) exists
        self.fail_times, self.fail_status, self.redirect_to = fail_times, fail_status, redirect_to
        self.requests: list[Received] = []  # every request that passed the checks
        self.rejected: list[str] = []  # why the others did not
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook?from=moorage"

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def check(self, headers: dict[str, str], body: bytes) -> str | None:
        """Why a receiver must refuse this request, or None."""
        if self.secret is None:
            return "no secret known yet"
        timestamp = headers.get("x-moorage-timestamp", "")
        if not timestamp.isdigit() or abs(self.now() - int(timestamp)) > TOLERANCE_S:
            return f"stale or missing timestamp {timestamp!r}"
        expected = "sha256=" + hmac.new(self.secret.encode(), timestamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("x-moorage-signature", ""), expected):
            return "bad signature"
        event = json.loads(body)
        if headers.get("x-moorage-event") != event["type"] or headers.get("x-moorage-delivery") != event["id"]:
            return "headers do not name the body's event"
        if headers.get("content-type") != "application/json" or headers.get("user-agent") != "moorage-webhooks":
            return "unexpected content type or user agent"
        return None

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    problem = receiver.check(headers, body)
                    if problem:
                        receiver.rejected.append(problem)
                        return self._answer(401)
                    receiver.requests.append(Received(self.path, headers, body))
                    if receiver.redirect_to:
                        return self._answer(302, Location=receiver.redirect_to)
                    if receiver.fail_times > 0:
                        receiver.fail_times -= 1
                        return self._answer(receiver.fail_status)
                self._answer(204)

            def _answer(self, status: int, **headers: str) -> None:
                self.send_response(status)
                for name, value in {"Content-Length": "0", **headers}.items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, *args) -> None:  # keep test output clean
                pass

        return Handler
