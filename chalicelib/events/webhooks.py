"""The webhooks consumer: POST each event to its registry's subscriptions that want it.

Body: the event's JSON. Headers name the event and the delivery, and sign both the body
and a timestamp: `X-Moorage-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`,
so a receiver can check where a request comes from and refuse an old one replayed.

A non-2xx answer, a network error or a refused target is recorded in the delivery log and,
once every subscription has been tried, raised: SQS redelivers the event with back-off (the
dead-letter queue after MAX_RECEIVES). On that retry, subscriptions whose log already says
delivered are skipped, so a receiver sees an event once per success, not once per attempt.

Targets are checked on every delivery, not only at creation, since DNS can change: only
http(s), and unless settings.webhook_allow_private, only public addresses (no loopback,
private, link-local or metadata addresses: SSRF). The connection goes to the address that
was checked (no second lookup to rebind), and redirects are never followed.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib.clock import epoch
from chalicelib.store.webhooks import Subscription, WebhookStore

from .model import Event

log = logging.getLogger("moorage.webhooks")
TIMEOUT_S = 5
USER_AGENT = "moorage-webhooks"


class DeliveryFailed(Exception):
    """Some subscriptions did not get the event; raised so that it is retried."""


class TargetRefused(Exception):
    pass


def deliver(event: Event, services) -> None:
    registry = event.target.registry
    if not registry:
        return
    store = getattr(services, "webhooks", None) or WebhookStore()
    failed = []
    for sub in store.list(registry):
        if not (sub.enabled and sub.wants(event.type)):
            continue
        previous = store.delivery(sub, event.id, event.time)
        if previous is not None and previous.delivered_at is not None:
            continue
        status, error = send(sub, event, services.settings.webhook_allow_private, epoch(services.clock.now()))
        store.record_attempt(sub, event.id, event.type, event.time, status, error, services.clock.now())
        if error is not None:
            # The id, never the URL (it may carry a token) nor the secret.
            log.warning("webhook %s of %s: %s", sub.id, registry, error, extra={"event_id": event.id})
            failed.append(sub.id)
    if failed:
        raise DeliveryFailed(f"event {event.id}: webhooks of {registry} not delivered: {', '.join(failed)}")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def send(sub: Subscription, event: Event, allow_private: bool, timestamp: int) -> tuple[int | None, str | None]:
    """One POST: (status code or None, error or None on a 2xx)."""
    body = event.to_json().encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Moorage-Event": event.type,
               "X-Moorage-Delivery": event.id, "X-Moorage-Timestamp": str(timestamp),
               "X-Moorage-Signature": signature(sub.secret, timestamp, body)}
    try:
        status = _post(resolve(sub.url, allow_private), body, headers)
    except TargetRefused as error:
        return None, f"refused: {error}"
    except (OSError, http.client.HTTPException, ValueError) as error:  # timeouts and TLS errors are OSErrors
        return None, f"{type(error).__name__}: {error}"
    return status, None if 200 <= status < 300 else f"HTTP {status}"


# ---- where a request may go ------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query
    address: str  # the checked address the connection goes to


def resolve(url: str, allow_private: bool) -> Target:
    """The URL's target, or TargetRefused. Resolves the host (socket.gaierror when it cannot)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("only http and https URLs with a host are delivered to")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = [info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)]
    if not allow_private:
        # Every address must be public: a client could connect to any of them.
        blocked = next((a for a in addresses if not is_public(a)), None)
        if blocked is not None:
            raise TargetRefused(f"{parts.hostname} is a non-public address ({blocked})")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    # is_global excludes loopback, private, link-local (169.254.169.254), shared and reserved ranges.
    return ip.is_global and not ip.is_multicast


def _post(target: Target, body: bytes, headers: dict[str, str]) -> int:
    connection_type = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = connection_type(target.host, target.port, target.address)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        # http.client never follows a redirect: a 3xx is a failure. The body is not read: only
        # the status counts, and a receiver that drips a long body would hold the consumer.
        return connection.getresponse().status
    finally:
        connection.close()


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address; Host still names the URL's host."""

    def __init__(self, host: str, port: int, address: str):
        super().__init__(host, port, timeout=TIMEOUT_S)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """As _PinnedHTTP, with the certificate checked against the URL's host (SNI too)."""

    def __init__(self, host: str, port: int, address: str):
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=TIMEOUT_S, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
