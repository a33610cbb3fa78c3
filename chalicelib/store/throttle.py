"""Failed logins per account, in fixed windows (LOGINFAIL#<username> / <window>, TTL), so
repeated failures for one account can be refused before any password is checked."""
from __future__ import annotations

from datetime import datetime

from . import keys
from .models import LoginFailureItem


class LoginFailures:
    def __init__(self, window_s: int):
        self._window = window_s

    def recent(self, username: str, now: datetime) -> int:
        """Failures in this window and the one before (a window's edge does not reset them)."""
        current, pk = self._window_of(now), keys.login_failures_pk(username)
        found = LoginFailureItem.batch_get([(pk, str(current - 1)), (pk, str(current))])  # one round trip
        return sum(int(item.count or 0) for item in found)

    def add(self, username: str, now: datetime) -> None:
        window = self._window_of(now)
        LoginFailureItem(keys.login_failures_pk(username), str(window)).update(actions=[
            LoginFailureItem.kind.set(LoginFailureItem), LoginFailureItem.count.add(1),
            LoginFailureItem.ttl.set((window + 3) * self._window)])

    def retry_after(self, now: datetime) -> int:
        """Seconds until the oldest counted window stops counting."""
        return (self._window_of(now) + 1) * self._window - int(now.timestamp())

    def _window_of(self, now: datetime) -> int:
        return int(now.timestamp()) // self._window
