"""Plays EventBridge schedules locally: calls the app's scheduled handlers with the same
event shape Lambda gets, on a fixed local interval."""
from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timezone

log = logging.getLogger("moorage.scheduler")


def scheduled_event(name: str) -> dict:
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1", "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{name}"],
        "detail": {},
    }


class Scheduler:
    def __init__(self, app, interval_s: float):
        from chalice.app import ScheduledEventConfig

        self._handlers = {source.name: app.handler_map[source.name] for source in app.event_sources
                          if isinstance(source, ScheduledEventConfig)}
        self._interval = interval_s
        self._stop = threading.Event()

    def run_once(self) -> None:
        for name, handler in self._handlers.items():
            try:
                handler(scheduled_event(name), None)
            except Exception:
                log.exception("scheduled handler %s failed", name)

    def start(self) -> None:
        def loop():
            while not self._stop.wait(self._interval):
                self.run_once()
        threading.Thread(target=loop, name="moorage-scheduler", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
