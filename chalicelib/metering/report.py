"""Usage read back: every hour (or day) of a range, zero-filled, with the registry's stored
bytes carried forward from the last hour that changed them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from chalicelib.store.usage import COUNTERS, UsageStore, hour_of

GRANULARITIES = ("hour", "day")
# Bounds the reads of one report: a batch get per 100 hours.
MAX_SPAN = {"hour": timedelta(days=31), "day": timedelta(days=92)}
DEFAULT_SPAN = timedelta(hours=24)
_HOUR, _DAY = timedelta(hours=1), timedelta(days=1)


class ReportError(ValueError):
    """A range or granularity that cannot be reported; the message says why."""


@dataclass(frozen=True)
class Bucket:
    start: datetime
    counters: dict[str, int]
    bytes_stored: int | None  # None in a repository's report: blobs are deduplicated registry-wide

    def to_json(self) -> dict:
        return {"start": iso(self.start), **self.counters, "bytes_stored": self.bytes_stored}


def resolve_range(start: datetime | None, end: datetime | None, granularity: str,
                  now: datetime) -> tuple[datetime, datetime]:
    """Whole hours (or days) covering [start, end); by default the 24 hours up to the
    current one included. Times without an offset are UTC."""
    if granularity not in GRANULARITIES:
        raise ReportError(f"granularity must be one of: {', '.join(GRANULARITIES)}")
    try:
        end = _ceil(_utc(end), "hour") if end else hour_of(now) + _HOUR
        start = _utc(start) if start else end - DEFAULT_SPAN
        start, end = _floor(start, granularity), _ceil(end, granularity)
    except OverflowError:  # year 1 or 9999 and a step past it
        raise ReportError("'from' and 'to' must lie between the years 1 and 9999") from None
    if start >= end:
        raise ReportError("'from' must be before 'to'")
    if end - start > MAX_SPAN[granularity]:
        raise ReportError(f"at most {MAX_SPAN[granularity].days} days at {granularity} granularity")
    return start, end


def usage_report(store: UsageStore, registry: str, repository: str | None, start: datetime, end: datetime,
                 granularity: str) -> list[Bucket]:
    hours = [start + _HOUR * n for n in range((end - start) // _HOUR)]
    rows = store.hours(registry, repository, hours)
    stored = None if repository else store.stored_before(registry, start)
    hourly = []
    for hour in hours:
        row = rows.get(hour)
        if stored is not None and row is not None and row.bytes_stored is not None:
            stored = row.bytes_stored
        hourly.append(Bucket(hour, dict(row.counters) if row else dict.fromkeys(COUNTERS, 0), stored))
    return hourly if granularity == "hour" else _daily(hourly)


def totals(buckets: list[Bucket]) -> dict:
    """Counters summed over the range; stored bytes as at its end."""
    summed = {name: sum(b.counters[name] for b in buckets) for name in COUNTERS}
    return {**summed, "bytes_stored": buckets[-1].bytes_stored if buckets else None}


def _daily(hourly: list[Bucket]) -> list[Bucket]:
    days: dict[datetime, list[Bucket]] = {}
    for bucket in hourly:
        days.setdefault(_day(bucket.start), []).append(bucket)
    # A day's stored bytes are those at its end, as a month's bill would read them.
    return [Bucket(day, {k: v for k, v in totals(hours).items() if k != "bytes_stored"}, hours[-1].bytes_stored)
            for day, hours in days.items()]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _day(moment: datetime) -> datetime:
    return hour_of(moment).replace(hour=0)


def _floor(moment: datetime, granularity: str) -> datetime:
    return hour_of(moment) if granularity == "hour" else _day(moment)


def _ceil(moment: datetime, granularity: str) -> datetime:
    floor = _floor(moment, granularity)
    return floor if floor == moment else floor + (_HOUR if granularity == "hour" else _DAY)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
