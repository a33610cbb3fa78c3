import base64
import hashlib
import hmac
import json
from datetime import timedelta

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from moto import mock_aws

from chalicelib.auth.keys import KeyStore
from chalicelib.auth.tokens import TokenClaims, TokenError, TokenIssuer, TokenVerifier
from chalicelib.clock import ManualClock, epoch

ISSUER = "https://registry.example.com/token"
AUDIENCE = "registry.example.com"
ACCESS = [{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}]


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def keys(monkeypatch, clock):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(var, "testing")
    with mock_aws():
        yield KeyStore(boto3.client("secretsmanager", region_name="us-east-1"), "keys", clock)


@pytest.fixture
def issuer(keys, clock):
    return TokenIssuer(keys, ISSUER, clock)


@pytest.fixture
def verifier(keys, clock):
    return TokenVerifier(keys, ISSUER, AUDIENCE, clock)


def claims(clock, **changes) -> dict:
    now = epoch(clock.now())
    payload = {"iss": ISSUER, "sub": "alice", "aud": AUDIENCE, "exp": now + 300, "nbf": now,
               "iat": now, "jti": "j1", "ptype": "user", "access": ACCESS}
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def sign(keys, payload, key=None, algorithm="ES256", kid=None) -> str:
    signing = keys.signing_key()
    return jwt.encode(payload, key or signing.private_key, algorithm=algorithm,
                      headers={"kid": kid or signing.kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def reason(verify, token) -> str:
    with pytest.raises(TokenError) as caught:
        verify(token)
    assert not token or token not in str(caught.value)  # safe to show to clients
    return caught.value.reason


def test_round_trip(issuer, verifier, keys, clock):
    token, issued = issuer.issue("alice", AUDIENCE, ACCESS, principal_type="robot",
                                 extra={"registry": "acme"})

    assert verifier.verify(token) == issued
    assert issued.subject == "alice" and issued.principal_type == "robot"
    assert issued.access == tuple(ACCESS)
    assert issued.issued_at == clock.now() and issued.expires_at == clock.now() + timedelta(minutes=5)
    assert len(issued.token_id) == 32 and issued.raw["registry"] == "acme"
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "typ": "JWT",
                                                "kid": keys.signing_key().kid}


def test_each_token_has_its_own_id(issuer):
    first, second = (issuer.issue("alice", AUDIENCE, [])[1] for _ in range(2))
    assert first.token_id != second.token_id


def test_issue_refuses_what_verify_would_refuse(issuer):
    with pytest.raises(ValueError):
        issuer.issue("alice", AUDIENCE, [{"type": "repository", "name": "x"}])
    with pytest.raises(ValueError):
        issuer.issue("alice", AUDIENCE, ACCESS, extra={"sub": "root"})


def test_refresh_round_trip(issuer, verifier, clock):
    token = issuer.issue_refresh("alice", AUDIENCE, principal_type="user")
    claims = verifier.verify_refresh(token)
    assert isinstance(claims, TokenClaims)
    assert (claims.subject, claims.access, claims.principal_type) == ("alice", (), "user")
    assert claims.expires_at == clock.now() + timedelta(days=30)


def test_refresh_token_is_not_an_access_token(issuer, verifier):
    assert reason(verifier.verify, issuer.issue_refresh("alice", AUDIENCE)) == "wrong token use"


def test_access_token_is_not_a_refresh_token(issuer, verifier, keys):
    token, _ = issuer.issue("alice", AUDIENCE, ACCESS)
    assert reason(verifier.verify_refresh, token) == "missing claim use"
    token, _ = issuer.issue("alice", AUDIENCE, ACCESS, extra={"scope": "x"})
    forged_use = sign(keys, {**jwt.decode(token, options={"verify_signature": False}),
                                     "use": "refresh"})
    assert reason(verifier.verify_refresh, forged_use) == "wrong token use"


def test_forged_signature(keys, verifier, clock):
    other = ec.generate_private_key(ec.SECP256R1())
    assert reason(verifier.verify, sign(keys, claims(clock), key=other)) == "bad signature"


def test_alg_none(keys, verifier, clock):
    header = {"alg": "none", "typ": "JWT", "kid": keys.signing_key().kid}
    token = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims(clock)).encode())}."
    assert reason(verifier.verify, token) == "algorithm not allowed"


def test_hs256_keyed_with_our_public_pem(keys, verifier, clock):
    # The classic confusion attack: HMAC with the public key as the secret.
    # pyjwt refuses to sign that, so the token is built by hand.
    pem = keys.signing_key().private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": keys.signing_key().kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims(clock)).encode())}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    assert reason(verifier.verify, f"{signing_input}.{b64(mac)}") == "algorithm not allowed"


def test_rs256(keys, verifier, clock):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = sign(keys, claims(clock), key=rsa_key, algorithm="RS256")
    assert reason(verifier.verify, token) == "algorithm not allowed"


def test_expired_beyond_leeway(issuer, verifier, clock):
    token, _ = issuer.issue("alice", AUDIENCE, ACCESS)
    clock.advance(minutes=5, seconds=29)
    verifier.verify(token)
    clock.advance(seconds=1)
    assert reason(verifier.verify, token) == "expired"


@pytest.mark.parametrize("ahead_s, accepted", [(30, True), (31, False)])
def test_not_yet_valid_beyond_leeway(keys, verifier, clock, ahead_s, accepted):
    later = ManualClock(clock.now() + timedelta(seconds=ahead_s))
    token, _ = TokenIssuer(keys, ISSUER, later).issue("alice", AUDIENCE, ACCESS)
    if accepted:
        verifier.verify(token)
    else:
        assert reason(verifier.verify, token) == "not yet valid"


def test_wrong_audience(issuer, verifier):
    token, _ = issuer.issue("alice", "other.example.com", ACCESS)
    assert reason(verifier.verify, token) == "wrong audience"


def test_wrong_issuer(keys, verifier, clock):
    token, _ = TokenIssuer(keys, "https://evil.example.com", clock).issue("alice", AUDIENCE, ACCESS)
    assert reason(verifier.verify, token) == "wrong issuer"


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat", "iss", "aud", "sub", "jti", "ptype", "access"])
def test_missing_claim(keys, verifier, clock, claim):
    token = sign(keys, claims(clock, **{claim: None}))
    assert reason(verifier.verify, token) == f"missing claim {claim}"


@pytest.mark.parametrize("changes", [
    {"access": "repository:team/app:pull"},
    {"access": [{"type": "repository", "name": "team/app"}]},
    {"access": [{"type": "repository", "name": "team/app", "actions": "pull"}]},
    {"access": [{"type": "repository", "name": 7, "actions": ["pull"]}]},
    {"access": [{"type": "repository", "name": "a", "actions": ["pull"], "extra": 1}]},
    {"access": ["repository:team/app:pull"]},
    {"exp": "tomorrow"},
    {"iat": True},
    {"ptype": 1},
])
def test_malformed_claims(keys, verifier, clock, changes):
    assert reason(verifier.verify, sign(keys, claims(clock, **changes))) == "malformed"


@pytest.mark.parametrize("garbage", [
    "", "abc", "a.b.c", "....", "Bearer x", "é.é.é", "eyJhbGciOiJFUzI1NiJ9", "e30.e30.",
    b64(b"[1,2]") + "." + b64(b"{}") + ".sig",
])
def test_garbage(verifier, garbage):
    assert reason(verifier.verify, garbage) in {"malformed", "algorithm not allowed"}
    assert reason(verifier.verify_refresh, garbage) in {"malformed", "algorithm not allowed"}


def test_garbage_is_malformed(verifier):
    assert reason(verifier.verify, "not-a-token") == "malformed"


def test_unknown_kid(keys, verifier, clock):
    assert reason(verifier.verify, sign(keys, claims(clock), kid="nope")) == "unknown key"


def test_token_signed_by_a_rotated_out_key(issuer, verifier, keys, clock):
    refresh = issuer.issue_refresh("alice", AUDIENCE)
    keys.rotate()
    clock.advance(hours=23)
    verifier.verify_refresh(refresh)  # still inside the overlap
    clock.advance(hours=1)
    assert reason(verifier.verify_refresh, refresh) == "unknown key"


def test_new_tokens_after_rotation_verify(issuer, verifier, keys):
    old, _ = issuer.issue("alice", AUDIENCE, ACCESS)
    keys.rotate()
    new, _ = issuer.issue("alice", AUDIENCE, ACCESS)
    assert jwt.get_unverified_header(old)["kid"] != jwt.get_unverified_header(new)["kid"]
    verifier.verify(old)
    verifier.verify(new)
