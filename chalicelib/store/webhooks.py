"""Webhook subscriptions of a registry, and the log of their deliveries.

A subscription item holds its signing secret in the clear: the sender needs it to sign
every delivery (a hash would not do). The API shows it once, at creation, and the
Subscription record keeps it out of its repr so it cannot reach a log line by accident.

A delivery item is keyed by the event's time and id, not by when it was attempted, so a
retry of the same event finds (GetItem) and updates the same item; the log still reads
newest first because events are ordered by their time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.clock import epoch

from .dynamo import condition_failed
from . import keys
from .models import WebhookDeliveryItem, WebhookItem

DELIVERY_RETENTION = timedelta(days=30)
MAX_ERROR_CHARS = 300


class WebhookExists(Exception):
    pass


class WebhookUnknown(Exception):
    pass


@dataclass(frozen=True)
class Subscription:
    registry: str
    id: str
    url: str
    events: tuple[str, ...]  # event types; "*" for all
    secret: str = field(repr=False)
    description: str = ""
    created_at: datetime | None = None
    created_by: str = ""
    enabled: bool = True

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


@dataclass(frozen=True)
class Delivery:
    event_id: str
    event_type: str
    event_time: datetime
    attempts: int
    attempted_at: datetime
    status_code: int | None = None  # None: no HTTP answer (refused, network error)
    last_error: str | None = None
    delivered_at: datetime | None = None  # set by the first 2xx


def _subscription(item: WebhookItem) -> Subscription:
    return Subscription(registry=item.registry, id=item.webhook_id, url=item.url, events=tuple(item.events or ()),
                        secret=item.secret, description=item.description or "", created_at=item.created_at,
                        created_by=item.created_by, enabled=bool(item.enabled))


def _delivery(item: WebhookDeliveryItem) -> Delivery:
    return Delivery(event_id=item.event_id, event_type=item.event_type, event_time=item.event_time,
                    attempts=int(item.attempts or 0), attempted_at=item.attempted_at,
                    status_code=None if item.status_code is None else int(item.status_code),
                    last_error=item.last_error, delivered_at=item.delivered_at)



class WebhookStore:
    # ---- subscriptions --------------------------------------------------------------------

    def create(self, sub: Subscription) -> Subscription:
        item = WebhookItem(keys.webhooks_pk(sub.registry), keys.webhook_sk(sub.id), registry=sub.registry,
                           webhook_id=sub.id, url=sub.url, events=list(sub.events), secret=sub.secret,
                           description=sub.description, created_at=sub.created_at, created_by=sub.created_by,
                           enabled=sub.enabled, updated_by=sub.created_by, updated_at=sub.created_at)
        try:
            item.save(condition=WebhookItem.pk.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                raise WebhookExists(f"webhook '{sub.id}' already exists") from error
            raise
        return _subscription(item)

    def get(self, registry: str, webhook_id: str) -> Subscription | None:
        try:
            return _subscription(WebhookItem.get(keys.webhooks_pk(registry), keys.webhook_sk(webhook_id)))
        except WebhookItem.DoesNotExist:
            return None

    def list(self, registry: str) -> list[Subscription]:
        found = WebhookItem.query(keys.webhooks_pk(registry), WebhookItem.sk.startswith(keys.webhook_sk("")))
        return [_subscription(item) for item in found]

    def delete(self, registry: str, webhook_id: str) -> None:
        """Its delivery log is left to expire (TTL): ids are never reused."""
        try:
            WebhookItem(keys.webhooks_pk(registry), keys.webhook_sk(webhook_id)).delete(
                condition=WebhookItem.pk.exists())
        except DeleteError as error:
            if condition_failed(error):
                raise WebhookUnknown(f"webhook '{webhook_id}' does not exist") from error
            raise

    def delete_all(self, registry: str) -> None:
        for sub in self.list(registry):
            try:
                self.delete(registry, sub.id)
            except WebhookUnknown:
                pass

    # ---- delivery log ---------------------------------------------------------------------

    def delivery(self, sub: Subscription, event_id: str, event_time: datetime) -> Delivery | None:
        try:
            return _delivery(WebhookDeliveryItem.get(keys.deliveries_pk(sub.registry, sub.id),
                                                     keys.delivery_sk(event_time, event_id), consistent_read=True))
        except WebhookDeliveryItem.DoesNotExist:
            return None

    def record_attempt(self, sub: Subscription, event_id: str, event_type: str, event_time: datetime,
                       status_code: int | None, error: str | None, now: datetime) -> Delivery:
        """One more attempt at (subscription, event): success when `error` is None."""
        item = WebhookDeliveryItem(keys.deliveries_pk(sub.registry, sub.id), keys.delivery_sk(event_time, event_id))
        model = WebhookDeliveryItem
        actions = [model.kind.set(model), model.event_id.set(event_id), model.event_type.set(event_type),
                   model.event_time.set(event_time), model.attempts.add(1), model.attempted_at.set(now),
                   model.ttl.set(epoch(now + DELIVERY_RETENTION))]
        actions.append(model.status_code.remove() if status_code is None else model.status_code.set(status_code))
        # On success the last error stays: the log then tells what went wrong before.
        actions.append(model.delivered_at.set(now) if error is None else model.last_error.set(error[:MAX_ERROR_CHARS]))
        item.update(actions=actions)  # ADD on attempts: creates the item on the first attempt
        return _delivery(item)

    def deliveries(self, sub: Subscription, limit: int) -> list[Delivery]:
        found = WebhookDeliveryItem.query(keys.deliveries_pk(sub.registry, sub.id), scan_index_forward=False,
                                          limit=limit)
        return [_delivery(item) for item in found]
