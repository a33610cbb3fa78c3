"""The audit consumer: every domain event goes into the audit log, once (chalicelib/store/audit.py)."""
from __future__ import annotations

import weakref

from chalicelib.store.audit import AuditStore

from .model import Event

# One store per Services, as the store remembers which day partitions it has marked; weak,
# so a Services that is dropped (tests make one each) takes its store along.
_STORES: "weakref.WeakKeyDictionary[object, AuditStore]" = weakref.WeakKeyDictionary()


def record(event: Event, services) -> None:
    """Idempotent on event.id: a redelivered event finds its record and writes nothing."""
    store_for(services).append(event, services.settings.audit_retention_days)


def store_for(services) -> AuditStore:
    if services not in _STORES:
        _STORES[services] = AuditStore()
    return _STORES[services]
