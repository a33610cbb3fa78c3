import base64
import hashlib
import json
from collections import Counter
from datetime import timedelta

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm
from moto import mock_aws

from chalicelib.auth.keys import MISS_REFRESH_AFTER, KeyStore
from chalicelib.clock import ManualClock

SECRET = "moorage/token-keys"


@pytest.fixture
def aws(monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


def new_client():
    return boto3.client("secretsmanager", region_name="us-east-1")


def count_calls(client) -> Counter:
    calls: Counter = Counter()
    client.meta.events.register(
        "before-call.secrets-manager", lambda model, **_: calls.update([model.name])
    )
    return calls


def stored_kids(client) -> list[str]:
    value = client.get_secret_value(SecretId=SECRET, VersionStage="AWSCURRENT")
    return [k["kid"] for k in json.loads(value["SecretString"])["keys"]]


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def client(aws):
    return new_client()


@pytest.fixture
def store(client, clock):
    return KeyStore(client, SECRET, clock)


def test_first_use_creates_the_secret_with_one_p256_key(store, client, clock):
    key = store.signing_key()

    assert stored_kids(client) == [key.kid]
    assert key.created_at == clock.now()
    private = serialization.load_pem_private_key(key.private_pem.encode(), None)
    assert private.curve.name == "secp256r1"


def test_kid_is_the_rfc7638_thumbprint(store):
    store.signing_key()
    [jwk] = store.jwks()["keys"]
    # RFC 7638 section 3.2: required members in lexicographic order, no whitespace.
    members = f'{{"crv":"P-256","kty":"EC","x":"{jwk["x"]}","y":"{jwk["y"]}"}}'
    digest = hashlib.sha256(members.encode()).digest()
    assert jwk["kid"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_reads_never_create_the_secret(store, client):
    assert store.jwks() == {"keys": []} and store.public_keys() == {}
    assert client.list_secrets()["SecretList"] == []


def test_another_instance_reads_the_same_key(store, clock):
    other = KeyStore(new_client(), SECRET, clock)
    assert other.signing_key() == store.signing_key()


def test_jwks_has_only_public_parts(store):
    key = store.signing_key()
    [jwk] = store.jwks()["keys"]

    assert set(jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"], jwk["kid"]) == (
        "EC", "P-256", "ES256", "sig", key.kid)
    public = ECAlgorithm.from_jwk(jwk)
    assert public.public_numbers() == key.private_key.public_key().public_numbers()


def test_rotation_keeps_the_old_key_during_overlap_only(store, clock):
    old = store.signing_key()
    clock.advance(days=30)
    new = store.signing_key()
    assert new.kid != old.kid and new.created_at == clock.now()
    assert store.signing_key() == new

    clock.advance(hours=23)
    assert {k["kid"] for k in store.jwks()["keys"]} == {old.kid, new.kid}
    assert set(store.public_keys()) == {old.kid, new.kid}

    clock.advance(hours=1)
    assert [k["kid"] for k in store.jwks()["keys"]] == [new.kid]
    assert set(store.public_keys()) == {new.kid}


def test_rotation_drops_expired_keys_from_the_secret(store, client, clock):
    first = store.signing_key()
    clock.advance(days=30)
    second = store.signing_key()
    assert stored_kids(client) == [first.kid, second.kid]
    clock.advance(days=30)
    third = store.signing_key()
    assert stored_kids(client) == [second.kid, third.kid]


def test_rotate_forces_a_new_key_now(store, clock):
    old = store.signing_key()
    new = store.rotate()
    assert new.kid != old.kid
    assert store.signing_key() == new
    assert set(store.public_keys()) == {old.kid, new.kid}


def test_secrets_manager_is_read_once_per_cache_ttl(store, client, clock):
    store.signing_key()
    calls = count_calls(client)
    for _ in range(3):
        store.signing_key(), store.public_keys(), store.jwks()
    clock.advance(minutes=4, seconds=59)
    store.signing_key()
    assert calls == Counter()

    clock.advance(seconds=1)
    store.signing_key(), store.public_keys()
    assert calls == Counter({"GetSecretValue": 1})


def test_unknown_kid_refreshes_once(store, client, clock):
    store.signing_key()
    rotated = KeyStore(new_client(), SECRET, clock).rotate()  # another instance
    calls = count_calls(client)

    clock.advance(seconds=MISS_REFRESH_AFTER.total_seconds())
    assert store.public_key(rotated.kid) is not None
    assert calls == Counter({"GetSecretValue": 1})
    # A made-up kid right after: no second read, so junk kids cannot hammer the service.
    assert store.public_key("no-such-kid") is None
    assert calls == Counter({"GetSecretValue": 1})


def test_unknown_kid_refresh_is_rate_limited(store, client, clock):
    store.signing_key()
    calls = count_calls(client)
    for _ in range(5):
        assert store.public_key("no-such-kid") is None
    assert calls == Counter()


def test_concurrent_creation_ends_with_one_key_set(aws, clock):
    first_client = new_client()
    first, second = KeyStore(first_client, SECRET, clock), KeyStore(new_client(), SECRET, clock)

    # Both saw no secret: the second instance creates it while the first is about to.
    def race(**_):
        first_client.meta.events.unregister("before-call.secrets-manager.CreateSecret", race)
        second.signing_key()

    first_client.meta.events.register("before-call.secrets-manager.CreateSecret", race)
    calls = count_calls(first_client)

    assert first.signing_key() == second.signing_key()
    assert calls["CreateSecret"] == 1
    assert stored_kids(first_client) == [second.signing_key().kid]


def test_concurrent_rotation_ends_with_one_key_set(aws, clock):
    first_client = new_client()
    first, second = KeyStore(first_client, SECRET, clock), KeyStore(new_client(), SECRET, clock)
    old = first.signing_key()
    second.signing_key()
    clock.advance(days=31)

    # Both saw the old key; the second rotates between the first's read and write.
    def race(**_):
        first_client.meta.events.unregister("before-call.secrets-manager.PutSecretValue", race)
        second.signing_key()

    first_client.meta.events.register("before-call.secrets-manager.PutSecretValue", race)

    winner = first.signing_key()
    assert winner == second.signing_key() and winner.kid != old.kid
    assert stored_kids(first_client) == [old.kid, winner.kid]
    assert set(first.public_keys()) == set(second.public_keys()) == {old.kid, winner.kid}


def test_other_instance_sees_a_rotation_after_its_cache_expires(store, clock):
    other = KeyStore(new_client(), SECRET, clock)
    assert other.signing_key() == store.signing_key()
    new = store.rotate()
    clock.advance(minutes=5)
    assert other.signing_key() == new
    assert store.signing_key() == new


def test_rotation_due_on_a_stale_cache_rereads_before_writing(store, client, clock):
    other = KeyStore(new_client(), SECRET, clock)
    other.signing_key()
    store.signing_key()
    clock.advance(days=30)
    rotated = other.signing_key()
    calls = count_calls(client)

    assert store.signing_key() == rotated  # cache said "due", the re-read says "done"
    assert calls == Counter({"GetSecretValue": 1})


def test_overlap_counts_from_when_a_key_was_superseded(aws, clock):
    store = KeyStore(new_client(), SECRET, clock, rotate_after=timedelta(days=1),
                     overlap=timedelta(hours=2))
    old = store.signing_key()
    clock.advance(days=10)  # old is long past rotate_after, but still the newest
    assert set(store.public_keys()) == {old.kid}
    new = store.signing_key()
    clock.advance(hours=1, minutes=59)
    assert set(store.public_keys()) == {old.kid, new.kid}
