"""Send the request path's buffered events before a Lambda instance freezes.

`BufferedPublisher` (bus.py) sends pulls, logins and denials from a background thread so that
no request waits for SQS. On Lambda the instance freezes as soon as the handler returns: a
frozen thread sends nothing, and an instance reclaimed while frozen loses what it held (the
last pulls before a quiet spell: usage, `last_pull`, retention's "not pulled for D days").

An internal extension (the Lambda Extensions API, in this process) holds the freeze off until
it asks for its next event, and the client has its response by then. So the API function
registers one at init; when an invocation ends (the `http` middleware in app.py calls
`invocation_ended`) it flushes the buffer and only then asks for the next event. Only the
API function has MOORAGE_FLUSH_AFTER_INVOKE=1 (set per stage in .chalice/config.json, the
only place Chalice merges a function's own variables): the others publish nothing through
the buffer and never call `invocation_ended`.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Callable

log = logging.getLogger("moorage.events")
EXTENSION_NAME = "moorage-events"
MARGIN_MS = 500  # an invocation that never says it ended: flush this long before its deadline


class AfterInvokeFlusher:
    def __init__(self, runtime_api: str, flush: Callable[[], None]):
        self._base = f"http://{runtime_api}/2020-01-01/extension"
        self._flush = flush
        self._ended = threading.Event()
        self._id = ""

    def register(self) -> None:
        """At init only (Lambda refuses registrations after it); starts the extension's thread."""
        request = urllib.request.Request(f"{self._base}/register", method="POST",
                                         data=json.dumps({"events": ["INVOKE"]}).encode(),
                                         headers={"Lambda-Extension-Name": EXTENSION_NAME,
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            self._id = answer.headers["Lambda-Extension-Identifier"]
        threading.Thread(target=self._run, name="moorage-after-invoke", daemon=True).start()

    def invocation_ended(self) -> None:
        self._ended.set()

    def _run(self) -> None:
        while True:
            event = self._next()  # the instance may freeze in here, between invocations
            if event.get("eventType") != "INVOKE":
                return
            # The next INVOKE cannot start before this thread asks for it, so a set() always
            # belongs to the invocation at hand, even when it came before the event did.
            self._ended.wait(_seconds_until(event.get("deadlineMs")))
            self._ended.clear()
            try:
                self._flush()
            except Exception:  # never keep the instance from its next invocation
                log.exception("could not flush the API events after an invocation")

    def _next(self) -> dict:
        request = urllib.request.Request(f"{self._base}/event/next",
                                         headers={"Lambda-Extension-Identifier": self._id})
        with urllib.request.urlopen(request) as answer:  # blocks until the next invocation
            return json.load(answer)


def _seconds_until(deadline_ms: object) -> float | None:
    if not isinstance(deadline_ms, (int, float)):
        return None
    return max(0.0, (deadline_ms - MARGIN_MS) / 1000 - time.time())


_flusher: AfterInvokeFlusher | None = None


def start_if_configured(flush: Callable[[], None]) -> None:
    """Register the extension when running as the API function on Lambda; nothing otherwise."""
    global _flusher
    runtime_api = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if _flusher is not None or not runtime_api or os.environ.get("MOORAGE_FLUSH_AFTER_INVOKE") != "1":
        return
    flusher = AfterInvokeFlusher(runtime_api, flush)
    try:
        flusher.register()
    except Exception:  # events then wait for the next invocation, as before
        log.exception("could not register the after-invoke extension")
        return
    _flusher = flusher


def invocation_ended() -> None:
    if _flusher is not None:
        _flusher.invocation_ended()
