"""Fan-out: each domain event goes to the queue of every consumer that wants its type.

The dispatchers (stream and S3 notification handlers) send synchronously and raise on
failure, so their source record is retried. The API function's own events (pulls,
logins, denials) go through `BufferedPublisher`, which a background thread drains in
batches, so a request never waits for SQS.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Iterable

from .consumers import CONSUMERS, queue_name
from .model import Event

log = logging.getLogger("moorage.events")
SQS_BATCH = 10


class Bus:
    def __init__(self, sqs, prefix: str):
        self._sqs = sqs
        self._prefix = prefix
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def send(self, events: Iterable[Event]) -> None:
        """Every event to every interested consumer queue; raises when any send fails."""
        per_queue: dict[str, list[Event]] = {}
        for event in events:
            for consumer in CONSUMERS:
                if consumer.wants(event.type):
                    per_queue.setdefault(consumer.name, []).append(event)
        for name, batch in per_queue.items():
            url = self._url(name)
            for start in range(0, len(batch), SQS_BATCH):
                chunk = batch[start:start + SQS_BATCH]
                entries = [{"Id": str(i), "MessageBody": e.to_json(),
                            "MessageAttributes": {"type": {"DataType": "String", "StringValue": e.type}}}
                           for i, e in enumerate(chunk)]
                answer = self._sqs.send_message_batch(QueueUrl=url, Entries=entries)
                if answer.get("Failed"):
                    raise RuntimeError(f"{len(answer['Failed'])} events not queued for {name}: "
                                       f"{answer['Failed'][0].get('Message', '')}")

    def _url(self, consumer: str) -> str:
        with self._lock:
            if consumer not in self._urls:
                self._urls[consumer] = self._sqs.get_queue_url(QueueName=queue_name(self._prefix, consumer))["QueueUrl"]
            return self._urls[consumer]


class BufferedPublisher:
    """Events from the request path. `publish` never blocks: a full buffer drops the event
    and counts it (logged), rather than slowing or failing a pull."""

    def __init__(self, bus: Bus, capacity: int = 10_000, linger_s: float = 0.2):
        self._bus = bus
        self._queue: queue.Queue[Event] = queue.Queue(maxsize=capacity)
        self._linger = linger_s
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.dropped = 0

    def publish(self, event: Event) -> None:
        self._ensure_started()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            log.warning("event buffer full: dropped %s", event.type)

    def flush(self, timeout_s: float = 5.0) -> None:
        """Wait until everything published so far is sent (tests, shutdown)."""
        done = threading.Event()
        self._ensure_started()
        self._queue.put(_Flush(done))
        done.wait(timeout_s)

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._drain, name="moorage-events", daemon=True)
                    self._thread.start()

    def _drain(self) -> None:
        while True:
            batch, markers = [], []
            item = self._queue.get()
            while True:
                if isinstance(item, _Flush):
                    markers.append(item)
                    break
                batch.append(item)
                if len(batch) >= SQS_BATCH * 5:
                    break
                try:
                    item = self._queue.get(timeout=self._linger)
                except queue.Empty:
                    break
            if batch:
                try:
                    self._bus.send(batch)
                except Exception:
                    log.exception("could not queue %d API events", len(batch))
            for marker in markers:
                marker.done.set()


class _Flush:
    def __init__(self, done: threading.Event):
        self.done = done
