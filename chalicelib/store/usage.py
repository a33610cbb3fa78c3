"""Hourly usage counters in the table, counted exactly once per event.

One event is applied by ONE TransactWriteItems: a marker `EVENT#<id>` put only if absent
(with a TTL), ADDs on the hour's registry row (`_`) and repository row, and for stored
bytes the registry's gauge. A redelivered event finds its marker, the transaction is
cancelled as a whole, and nothing is counted twice; a transaction that fails for any
other reason leaves no marker either, so the retry counts it.

Stored bytes: the gauge (`STORED`) holds the registry's unique bytes now; each hour row
that saw a change carries the gauge's value after it (`bytes_stored`), so a report can
carry it forward without summing history. A transaction cannot return what an ADD made,
so the gauge is read first and written with a condition that it still holds what was
read (optimistic concurrency; the condition on the value itself suffices, as equal values
give equal sums). Losers re-read and retry. Only blob.stored/blob.deleted touch the gauge,
so pulls and pushes never contend on it. An hour row's `bytes_stored` follows the order
events were applied in; a late event of an earlier hour still moves the gauge exactly.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, fields
from datetime import datetime, timezone

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from . import keys
from .models import UsageItem

MARKER_TTL_S = 16 * 24 * 3600  # outlives the queues (14 days) and the idempotency records (15)
MAX_ATTEMPTS = 25
_BACKOFF_S = 0.005
# Cancellations a retry can resolve: our own conditions (the marker, the gauge) and
# DynamoDB's transaction conflicts on a busy hour row.
_RETRYABLE = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
_BATCH_GET_MAX = 100


@dataclass(frozen=True)
class UsageDelta:
    """What one event adds to its hour."""
    pulls: int = 0
    pushes: int = 0
    bytes_uploaded: int = 0
    scans: int = 0
    errors: int = 0
    bytes_linked: int = 0
    stored: int = 0  # change of the registry's unique stored bytes (the gauge)

    def counters(self) -> dict[str, int]:
        """The counters this delta moves (ADDs of zero would only create empty rows)."""
        return {name: getattr(self, name) for name in COUNTERS if getattr(self, name)}


COUNTERS = tuple(f.name for f in fields(UsageDelta) if f.name != "stored")


@dataclass(frozen=True)
class UsageHour:
    """One stored hour row (absent hours have none)."""
    hour: datetime
    counters: dict[str, int]
    bytes_stored: int | None  # the gauge after this hour's last change; None: no change


@dataclass(frozen=True)
class Applied:
    counted: bool  # False: the event had been counted before
    bytes_stored: int | None = None  # the gauge after the event, when it moved it


class UsageStore:
    def __init__(self, region: str, host: str | None):
        self._connection = Connection(region=region, host=host)

    def apply(self, event_id: str, registry: str, repository: str | None, when: datetime,
              delta: UsageDelta, now: datetime, actor: str = "system:meter") -> Applied:
        hour = hour_of(when)
        for attempt in range(MAX_ATTEMPTS):
            was = self._gauge(registry) if delta.stored else None
            stored = (was or 0) + delta.stored if delta.stored else None
            try:
                self._transact(event_id, registry, repository, hour, delta, was, stored, now, actor)
                return Applied(True, stored)
            except TransactWriteError as error:
                if not _retryable(error) or attempt == MAX_ATTEMPTS - 1:
                    raise
            # Which condition failed is not reliable (moto reports it at another index): ask.
            if self.counted(registry, event_id):
                return Applied(False)
            time.sleep(random.uniform(0, _BACKOFF_S * (attempt + 1)))
        raise AssertionError("unreachable")

    def _transact(self, event_id, registry, repository, hour, delta, was, stored, now, actor) -> None:
        pk = keys.usage_pk(registry)
        stamp = [UsageItem.kind.set(UsageItem), UsageItem.updated_by.set(actor), UsageItem.updated_at.set(now)]
        adds = [getattr(UsageItem, name).add(value) for name, value in delta.counters().items()]
        with TransactWrite(connection=self._connection) as tx:
            tx.save(UsageItem(pk, keys.usage_event_sk(event_id), updated_by=actor, updated_at=now,
                              ttl=int(now.timestamp()) + MARKER_TTL_S),
                    condition=UsageItem.pk.does_not_exist())
            total = adds + ([UsageItem.bytes_stored.set(stored)] if stored is not None else [])
            tx.update(UsageItem(pk, keys.usage_sk(hour, None)), actions=stamp + total)
            if repository and adds:
                tx.update(UsageItem(pk, keys.usage_sk(hour, repository)), actions=stamp + adds)
            if stored is not None:
                unchanged = UsageItem.pk.does_not_exist() if was is None else UsageItem.bytes_stored == was
                tx.update(UsageItem(pk, keys.USAGE_STORED_SK), actions=stamp + [UsageItem.bytes_stored.set(stored)],
                          condition=unchanged)

    def counted(self, registry: str, event_id: str) -> bool:
        return _get(keys.usage_pk(registry), keys.usage_event_sk(event_id)) is not None

    def stored(self, registry: str) -> int:
        """The registry's unique stored bytes now."""
        return self._gauge(registry) or 0

    @staticmethod
    def _gauge(registry: str) -> int | None:
        # Read consistently: the write that follows is conditional on this value.
        item = _get(keys.usage_pk(registry), keys.USAGE_STORED_SK)
        return int(item.bytes_stored or 0) if item else None

    def hours(self, registry: str, repository: str | None, hours: list[datetime]) -> dict[datetime, UsageHour]:
        """The stored rows of these hours (of the registry, or of one repository)."""
        pk = keys.usage_pk(registry)
        by_sk = {keys.usage_sk(hour_of(h), repository): hour_of(h) for h in hours}
        found: dict[datetime, UsageHour] = {}
        wanted = list(by_sk)
        for start in range(0, len(wanted), _BATCH_GET_MAX):
            for item in UsageItem.batch_get([(pk, sk) for sk in wanted[start:start + _BATCH_GET_MAX]]):
                counters = {name: int(getattr(item, name) or 0) for name in COUNTERS}
                stored = int(item.bytes_stored) if item.bytes_stored is not None else None
                found[by_sk[item.sk]] = UsageHour(by_sk[item.sk], counters, stored)
        return found

    def stored_before(self, registry: str, hour: datetime) -> int:
        """The gauge as the last hour row before `hour` recorded it (0: none did)."""
        # Only registry rows carry bytes_stored; newest first, stop at the first one. This reads
        # back over the rows of hours without a stored change: few, where blobs come and go.
        rows = UsageItem.query(keys.usage_pk(registry), UsageItem.sk < keys.usage_hour_prefix(hour_of(hour)),
                               filter_condition=UsageItem.bytes_stored.exists(), scan_index_forward=False)
        for item in rows:
            return int(item.bytes_stored)
        return 0


def hour_of(moment: datetime) -> datetime:
    """The UTC hour a moment falls in (its bucket)."""
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def _retryable(error: TransactWriteError) -> bool:
    codes = {r.code for r in error.cancellation_reasons or [] if r is not None and r.code not in (None, "None")}
    return bool(codes) and codes <= _RETRYABLE


def _get(pk: str, sk: str) -> UsageItem | None:
    try:
        return UsageItem.get(pk, sk, consistent_read=True)
    except UsageItem.DoesNotExist:
        return None
