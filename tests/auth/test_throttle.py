"""Brute force: repeated failed logins for one account are refused for a while, before any
password is checked; other accounts and the right password later are not affected."""
from __future__ import annotations

import pytest

from chalicelib.auth.service import AuthFailed, Credentials, LoginThrottled
from tests.moto_services import moto_services

PASSWORD = "a-long-enough-password-1"


@pytest.fixture
def services():
    with moto_services(MOORAGE_LOGIN_MAX_FAILURES="3", MOORAGE_LOGIN_WINDOW="600") as services:
        services.auth.principals.create_user("alice", PASSWORD, "t")
        services.auth.principals.create_user("bob", PASSWORD, "t")
        yield services


def _fail(services, username: str) -> None:
    with pytest.raises(AuthFailed) as failed:
        services.auth.login(Credentials(username, "wrong"))
    assert not isinstance(failed.value, LoginThrottled)


def test_an_account_is_throttled_after_repeated_failures_even_with_the_right_password(services):
    for _ in range(3):
        _fail(services, "alice")
    with pytest.raises(LoginThrottled) as throttled:
        services.auth.login(Credentials("alice", PASSWORD))
    assert 0 < throttled.value.retry_after_s <= 600
    assert services.auth.login(Credentials("bob", PASSWORD)).name == "bob"  # others are not affected


def test_the_throttle_lifts_when_the_failures_age_out(services):
    for _ in range(3):
        _fail(services, "alice")
    services.clock.advance(seconds=600)
    with pytest.raises(LoginThrottled):  # the previous window still counts
        services.auth.login(Credentials("alice", PASSWORD))
    services.clock.advance(seconds=600)
    assert services.auth.login(Credentials("alice", PASSWORD)).name == "alice"


def test_unknown_accounts_are_throttled_the_same_way(services):
    for _ in range(3):
        _fail(services, "nobody")
    with pytest.raises(LoginThrottled):
        services.auth.login(Credentials("nobody", "wrong"))


def test_usernames_count_case_insensitively(services):
    for name in ("alice", "Alice", "ALICE"):
        _fail(services, name)
    with pytest.raises(LoginThrottled):
        services.auth.login(Credentials("alice", PASSWORD))
