"""Secret hashing: scrypt for passwords, SHA-256 for generated robot secrets."""
from __future__ import annotations

import pytest

from chalicelib.auth import passwords


def test_password_hash_verifies_only_the_password():
    stored = passwords.hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert passwords.verify_secret("correct horse", stored)
    assert not passwords.verify_secret("correct hors", stored)
    assert passwords.hash_password("correct horse") != stored  # salted


def test_robot_secrets_are_random_and_hashed():
    secret, stored = passwords.new_robot_secret()
    other, _ = passwords.new_robot_secret()
    assert secret != other and len(secret) >= 40
    assert stored.startswith("sha256$") and secret not in stored
    assert passwords.verify_secret(secret, stored)
    assert not passwords.verify_secret(other, stored)


@pytest.mark.parametrize("stored", [None, "", "plain", "md5$abc", "sha256$"])
def test_unknown_or_missing_hashes_never_verify(stored):
    assert not passwords.verify_secret("anything", stored)


def test_overlong_secrets_are_refused_without_hashing():
    stored = passwords.hash_password("x" * 20)
    assert not passwords.verify_secret("x" * 100_000, stored)


@pytest.mark.parametrize("password", ["", "short", None, "x" * 2000])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValueError):
        passwords.check_password_strength(password)
