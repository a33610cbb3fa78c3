"""The audit log: every domain event once, queryable by registry and time, newest first.

A registry's records of one UTC day share a partition, `AUDIT#<registry>#<day>`, sorted by
`<time>#<event id>`; events of no registry (logins, principal changes) go to `_`. A record
is put only if absent, so a redelivered event writes nothing twice, and nothing here
updates or deletes one: records leave only by their TTL.

The deployment-wide log must find every partition of a day, those of registries deleted
since included, so each append also marks its partition under `AUDITDAY#<day>`. The mark
is remembered per store, so a busy registry writes it once a day, not once an event.

Sort keys are unique and order alike in every partition, so a page of the merged log ends
at one sort key and the cursor is only "older than this key": no per-partition state.
"""
from __future__ import annotations

import base64
import binascii
import functools
import json
import operator
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from itertools import islice
from types import MappingProxyType
from typing import Mapping

from pynamodb.exceptions import PutError

from chalicelib.clock import epoch

from .dynamo import condition_failed
from . import keys
from .models import AuditDayItem, AuditItem

MAX_RANGE = timedelta(days=400)
MAX_LIMIT = 1000
_DAY_S = 24 * 3600
_MAX_CURSOR = 1024
_CURSOR_KEY = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z#.{1,256}", re.DOTALL)
_MAX_MARKS = 10_000


class AuditQueryError(ValueError):
    """A query that cannot be answered as asked (range, limit, cursor): the message says why."""


@dataclass(frozen=True)
class AuditRecord:
    id: str
    type: str
    time: datetime
    principal: str
    source_ip: str
    user_agent: str
    registry: str | None
    repository: str | None
    tag: str | None
    digest: str | None
    result: str
    details: Mapping


def _record(item: AuditItem) -> AuditRecord:
    return AuditRecord(
        id=item.event_id, type=item.event_type, time=item.event_time, principal=item.principal,
        source_ip=item.source_ip or "", user_agent=item.user_agent or "", registry=item.registry,
        repository=item.repository, tag=item.tag, digest=item.digest, result=item.result,
        details=MappingProxyType(dict(item.details or {})))



class AuditStore:
    def __init__(self) -> None:
        self._marked: set[tuple[str, str]] = set()  # (day, partition) marked by this store

    def append(self, event, retention_days: int) -> bool:
        """Record a chalicelib.events.model.Event; False when it was recorded before."""
        partition = event.target.registry or keys.AUDIT_NO_REGISTRY
        day = keys.audit_day(event.time)
        # Marked first: a crash between the two writes then leaves a mark without a record
        # (harmless), never a record the deployment-wide log cannot find.
        self._mark(day, partition, retention_days)
        actor, target = event.actor, event.target
        item = AuditItem(
            keys.audit_pk(partition, day), keys.audit_sk(event.time, event.id), event_id=event.id,
            event_type=event.type, event_time=event.time, principal=actor.principal,
            source_ip=actor.source_ip or None, user_agent=actor.user_agent or None, registry=target.registry,
            repository=target.repository, tag=target.tag, digest=target.digest, result=event.result,
            details=dict(event.details), ttl=epoch(event.time) + retention_days * _DAY_S,
            updated_by="system:audit")
        try:
            item.save(condition=AuditItem.pk.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                return False  # a redelivery: the record is there, unchanged
            raise
        return True

    def _mark(self, day: str, partition: str, retention_days: int) -> None:
        if (day, partition) in self._marked:
            return
        # Lives as long as the day's last possible record; a shorter retention set later
        # must not shorten it, hence the condition (a failed one: a longer mark is there).
        expires = epoch(datetime.fromisoformat(day).replace(tzinfo=timezone.utc)) + (1 + retention_days) * _DAY_S
        try:
            AuditDayItem(keys.audit_days_pk(day), partition, ttl=expires, updated_by="system:audit").save(
                condition=AuditDayItem.ttl.does_not_exist() | (AuditDayItem.ttl < expires))
        except PutError as error:
            if not condition_failed(error):
                raise
        if len(self._marked) >= _MAX_MARKS:
            self._marked.clear()
        self._marked.add((day, partition))

    def query(self, registry: str | None, start: datetime, end: datetime, repository: str | None = None,
              actor: str | None = None, action: str | None = None, limit: int = 100,
              cursor: str | None = None) -> tuple[list[AuditRecord], str | None]:
        """Records in [start, end] newest first, and the next page's cursor (None: the last page).
        No registry: the deployment-wide log (`_` and every registry)."""
        if end < start:
            raise AuditQueryError("'from' is later than 'to'")
        if end - start > MAX_RANGE:
            raise AuditQueryError(f"the time range is at most {MAX_RANGE.days} days")
        if not 1 <= limit <= MAX_LIMIT:
            raise AuditQueryError(f"'limit' is a number from 1 to {MAX_LIMIT}")
        lower = keys.audit_time(start)
        upper = keys.audit_time(end) + "$"  # above every key at `end` ('#' < '$'), equal to none
        if cursor is not None:
            upper = min(upper, parse_cursor(cursor))
        wanted = _filter(repository, actor, action)
        found: list[tuple[str, AuditItem]] = []  # one more than `limit`: tells if a next page exists
        day = date.fromisoformat(upper[:10])
        while day >= start.astimezone(timezone.utc).date() and len(found) <= limit:
            need = limit + 1 - len(found)
            partitions = [registry] if registry else self._partitions(day.isoformat())
            merged = [hit for p in partitions for hit in self._day(p, day.isoformat(), lower, upper, wanted, need)]
            found.extend(sorted(merged, key=lambda hit: hit[0], reverse=True)[:need])
            day -= timedelta(days=1)
        page = [_record(item) for _, item in found[:limit]]
        return page, (make_cursor(found[limit - 1][0]) if len(found) > limit else None)

    @staticmethod
    def _partitions(day: str) -> list[str]:
        return [item.sk for item in AuditDayItem.query(keys.audit_days_pk(day))]

    @staticmethod
    def _day(partition: str, day: str, lower: str, upper: str, wanted, need: int):
        """Up to `need` matching items of one partition-day with lower <= sk < upper, newest first."""
        items = AuditItem.query(
            keys.audit_pk(partition, day), AuditItem.sk.between(lower, upper), filter_condition=wanted,
            scan_index_forward=False,
            # A filter may drop most of what is read: then read 1 MB pages, not `need` items a request.
            page_size=None if wanted is not None else need + 1)
        # `between` is inclusive; a cursor's own key is the one to leave out.
        return list(islice(((i.sk, i) for i in items if i.sk != upper), need))


def _filter(repository: str | None, actor: str | None, action: str | None):
    conditions = []
    if repository is not None:
        conditions.append(AuditItem.repository == repository)
    if actor is not None:
        conditions.append(AuditItem.principal == actor)
    if action is not None:
        conditions.append(AuditItem.event_type == action)
    return functools.reduce(operator.and_, conditions) if conditions else None


# ---- cursors: opaque to clients, checked when they come back ------------------------------

def make_cursor(sort_key: str) -> str:
    text = json.dumps({"before": sort_key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def parse_cursor(cursor: str) -> str:
    """The sort key a cursor stands for; AuditQueryError for anything no page handed out."""
    try:
        if len(cursor) > _MAX_CURSOR:
            raise ValueError("too long")
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        before = json.loads(raw)["before"]
        if not isinstance(before, str) or not _CURSOR_KEY.fullmatch(before):
            raise ValueError("not a position in the log")
        date.fromisoformat(before[:10])  # the walk starts on this day
        return before
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise AuditQueryError("'cursor' is not a cursor this API returned; start again without it") from None
