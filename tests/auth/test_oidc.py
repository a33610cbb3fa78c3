import base64
import json

import pytest

from chalicelib.auth.oidc import (
    FederatedIdentity,
    OidcError,
    OidcProvider,
    OidcVerifier,
    providers_from_env,
)
from chalicelib.clock import ManualClock
from tests.auth.oidc_issuer import DISCOVERY_PATH, JWKS_PATH, OidcIssuer

AUDIENCE = "moorage"


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def idp(clock):
    with OidcIssuer(clock) as idp:
        yield idp


@pytest.fixture
def verifier(idp, clock):
    return OidcVerifier([OidcProvider(idp.issuer, AUDIENCE)], clock, refresh_cooldown_s=0)


def reason(verifier, token) -> str:
    with pytest.raises(OidcError) as caught:
        verifier.verify(token)
    return caught.value.reason


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_valid_token_becomes_an_identity(idp, verifier):
    token = idp.id_token("u-1", AUDIENCE, username="alice", groups=["dev", "ops"])
    assert verifier.verify(token) == FederatedIdentity(idp.issuer, "u-1", "alice", ("dev", "ops"))


def test_username_falls_back_to_email_then_sub(idp, verifier):
    assert verifier.verify(idp.id_token("u-1", AUDIENCE, email="a@example.com")).username == "a@example.com"
    unverified = idp.id_token("u-1", AUDIENCE, email="boss@example.com", email_verified=False)
    assert verifier.verify(unverified).username == "u-1"
    assert verifier.verify(idp.id_token("u-1", AUDIENCE)).username == "u-1"


def test_custom_claims(idp, clock):
    provider = OidcProvider(idp.issuer, AUDIENCE, username_claim="login", groups_claim="teams")
    token = idp.id_token("u-1", AUDIENCE, login="bob", teams=["a"])
    assert OidcVerifier([provider], clock).verify(token).username == "bob"
    assert OidcVerifier([provider], clock).verify(token).groups == ("a",)


def test_no_groups_claim_means_no_groups(idp, verifier):
    assert verifier.verify(idp.id_token("u-1", AUDIENCE, username="alice")).groups == ()


@pytest.mark.parametrize("groups", ["dev", [1], {"dev": True}])
def test_malformed_groups(idp, verifier, groups):
    assert reason(verifier, idp.id_token("u-1", AUDIENCE, username="a", groups=groups)) == "malformed"


@pytest.mark.parametrize("username", ["a b", "alice/../root", "ali:ce", "x" * 129, "émile", 7])
def test_bad_username(idp, verifier, username):
    assert reason(verifier, idp.id_token("u-1", AUDIENCE, username=username)) == "bad username"


def test_expired(idp, verifier, clock):
    token = idp.id_token("u-1", AUDIENCE, username="alice", expires_in=60)
    clock.advance(seconds=89)
    verifier.verify(token)  # within leeway
    clock.advance(seconds=1)
    assert reason(verifier, token) == "expired"


@pytest.mark.parametrize("nbf", [None, "soon"])
def test_malformed_times(idp, verifier, nbf):
    assert reason(verifier, idp.id_token("u-1", AUDIENCE, username="a", nbf=nbf)) == "malformed"


def test_not_yet_valid(idp, verifier, clock):
    token = idp.id_token("u-1", AUDIENCE, username="a", nbf=int(clock.now().timestamp()) + 31)
    assert reason(verifier, token) == "not yet valid"


def test_wrong_audience(idp, verifier):
    assert reason(verifier, idp.id_token("u-1", "someone-else", username="a")) == "wrong audience"


@pytest.mark.parametrize("claim", ["exp", "iat", "sub"])
def test_missing_claims(idp, verifier, claim):
    claims = {"sub": "u-1", claim: None}
    token = idp.id_token(claims.pop("sub"), AUDIENCE, username="a", **claims)
    assert reason(verifier, token) == f"missing claim {claim}"


def test_unknown_issuer(clock, verifier):
    with OidcIssuer(clock) as stranger:
        token = stranger.id_token("u-1", AUDIENCE, username="alice")
        assert reason(verifier, token) == "unknown issuer"
        assert stranger.requests == {}


def test_forged_with_a_key_not_in_the_jwks(idp, verifier):
    token = idp.id_token("u-1", AUDIENCE, username="alice", forged=True)
    assert reason(verifier, token) == "bad signature"


def test_alg_none(idp, verifier, clock):
    claims = {"iss": idp.issuer, "sub": "u-1", "aud": AUDIENCE, "iat": 1, "exp": 2**40}
    header = {"alg": "none", "kid": idp.kid}
    token = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."
    assert reason(verifier, token) == "algorithm not allowed"


def test_algorithm_outside_the_providers_list(idp, clock):
    verifier = OidcVerifier([OidcProvider(idp.issuer, AUDIENCE, algorithms=("ES256",))], clock)
    assert reason(verifier, idp.id_token("u-1", AUDIENCE, username="alice")) == "algorithm not allowed"


def test_unknown_kid(idp, verifier):
    token = idp.id_token("u-1", AUDIENCE, username="alice", headers={"kid": "nope"})
    assert reason(verifier, token) == "unknown key"


def test_jwks_is_fetched_once_and_cached(idp, verifier):
    for sub in ("u-1", "u-2", "u-3"):
        verifier.verify(idp.id_token(sub, AUDIENCE, username=sub))
    assert idp.requests == {DISCOVERY_PATH: 1, JWKS_PATH: 1}


def test_configured_jwks_uri_skips_discovery(idp, clock):
    provider = OidcProvider(idp.issuer, AUDIENCE, jwks_uri=idp.issuer + JWKS_PATH)
    OidcVerifier([provider], clock).verify(idp.id_token("u-1", AUDIENCE, username="alice"))
    assert idp.requests == {JWKS_PATH: 1}


def test_key_rotation_at_the_issuer_is_picked_up(idp, verifier):
    verifier.verify(idp.id_token("u-1", AUDIENCE, username="alice"))
    idp.rotate()
    verifier.verify(idp.id_token("u-1", AUDIENCE, username="alice"))
    assert idp.requests[JWKS_PATH] == 2


def test_unknown_kids_cannot_hammer_the_issuer(idp, clock):
    verifier = OidcVerifier([OidcProvider(idp.issuer, AUDIENCE)], clock)  # default cooldown
    verifier.verify(idp.id_token("u-1", AUDIENCE, username="alice"))
    for kid in ("a", "b", "c"):
        token = idp.id_token("u-1", AUDIENCE, username="alice", headers={"kid": kid})
        assert reason(verifier, token) == "unknown key"
    assert idp.requests[JWKS_PATH] == 1


def test_unreachable_provider(clock):
    verifier = OidcVerifier([OidcProvider("http://127.0.0.1:9", AUDIENCE)], clock, http_timeout=1)
    with OidcIssuer(clock) as other:
        token = other.id_token("u-1", AUDIENCE, username="alice", iss="http://127.0.0.1:9")
    assert reason(verifier, token) == "provider unreachable"


def test_looks_like_id_token(idp, verifier):
    assert verifier.looks_like_id_token(idp.id_token("u-1", AUDIENCE, username="alice"))
    assert not verifier.looks_like_id_token("hunter2")
    assert not verifier.looks_like_id_token("a.b.c")
    assert not verifier.looks_like_id_token(idp.id_token("u-1", AUDIENCE, iss="https://other.example"))
    header, list_issuer = (b64(json.dumps(part).encode()) for part in ({"alg": "RS256"}, {"iss": [idp.issuer]}))
    assert not verifier.looks_like_id_token(f"{header}.{list_issuer}.c2ln")
    assert idp.requests == {}  # cheap: no network


def test_garbage(verifier):
    for garbage in ("", "a.b.c", "hunter2", "e30.e30."):
        assert reason(verifier, garbage) in {"malformed", "unknown issuer"}


# -- configuration ----------------------------------------------------------------------


def test_providers_from_env():
    text = json.dumps([
        {"issuer": "https://token.actions.githubusercontent.com", "audience": "moorage"},
        {"issuer": "https://idp.example.com/realms/x", "audience": "registry",
         "jwks_uri": "https://idp.example.com/certs", "username_claim": "email",
         "groups_claim": "roles", "algorithms": ["RS256"]},
    ])
    github, keycloak = providers_from_env(text)
    assert github == OidcProvider("https://token.actions.githubusercontent.com", "moorage")
    assert keycloak.algorithms == ("RS256",) and keycloak.groups_claim == "roles"
    assert providers_from_env(None) == providers_from_env("  ") == []


@pytest.mark.parametrize("config, message", [
    ("{nope", "not valid JSON"),
    ('{"issuer": "https://a"}', "JSON list"),
    ('["https://a"]', r"\[0\] must be an object"),
    ('[{"issuer": "https://a"}]', "issuer and audience are required"),
    ('[{"issuer": "https://a", "audience": "m", "aud": "x"}]', "unknown keys"),
    ('[{"issuer": "https://a", "audience": ""}]', "audience"),
    ('[{"issuer": "http://idp.example.com", "audience": "m"}]', "https"),
    ('[{"issuer": "idp.example.com", "audience": "m"}]', "https"),
    ('[{"issuer": "https://a", "audience": "m", "jwks_uri": "file:///etc/passwd"}]', "jwks_uri"),
    ('[{"issuer": "https://a", "audience": "m", "algorithms": ["none"]}]', "not allowed"),
    ('[{"issuer": "https://a", "audience": "m", "algorithms": ["HS256"]}]', "not allowed"),
    ('[{"issuer": "https://a", "audience": "m", "algorithms": "RS256"}]', "list"),
    ('[{"issuer": "https://a", "audience": "m", "algorithms": []}]', "non-empty"),
    ('[{"issuer": "https://a", "audience": "m"}, {"issuer": "https://a", "audience": "n"}]', "twice"),
])
def test_providers_from_env_rejects_bad_config(config, message):
    with pytest.raises(ValueError, match=message):
        providers_from_env(config)
