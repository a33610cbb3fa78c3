"""Registry bearer tokens (the docker token spec): ES256 JWTs signed with KeyStore keys.

Access tokens carry the granted `access` list and live minutes; refresh tokens
(the OAuth2 refresh_token grant containerd uses) carry `"use": "refresh"`, no
access, and live weeks. Each verifier accepts only its own kind.

Time comes from the injected clock, not from pyjwt (which reads time.time()):
pyjwt's exp/nbf/iat checks are switched off and `decode_jwt` does them itself.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import MappingProxyType

import jwt

from chalicelib.clock import Clock, epoch

from .keys import KeyStore

ALGORITHM = "ES256"
LEEWAY = timedelta(seconds=30)
ACCESS_LIFETIME = timedelta(minutes=5)
REFRESH_LIFETIME = timedelta(days=30)

_REFRESH = "refresh"
_REQUIRED = ["exp", "nbf", "iat", "iss", "aud", "sub", "jti", "ptype"]
_RESERVED = frozenset(_REQUIRED) | {"access", "use"}
_ACCESS_KEYS = frozenset({"type", "name", "actions"})

# pyjwt exception -> reason, most specific first (InvalidSignatureError is a DecodeError).
_REASONS: list[tuple[type[Exception], str]] = [
    (jwt.InvalidSignatureError, "bad signature"),
    (jwt.InvalidKeyError, "bad signature"),
    (jwt.InvalidAudienceError, "wrong audience"),
    (jwt.InvalidIssuerError, "wrong issuer"),
    (jwt.InvalidAlgorithmError, "algorithm not allowed"),
]


class TokenError(Exception):
    """A token we refuse. The message is safe to show to clients: it never echoes the token."""

    def __init__(self, reason: str):
        super().__init__(f"invalid token: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    access: tuple[dict, ...]
    issued_at: datetime
    expires_at: datetime
    token_id: str
    principal_type: str
    raw: Mapping


def decode_jwt(token: str, key, *, algorithms: list[str], audience: str, issuer: str,
               require: list[str], now: datetime) -> dict:
    """jwt.decode, with the clock checks done against `now` ± LEEWAY.

    Any failure is a TokenError whose reason names what was wrong."""
    options = {"require": require, "verify_exp": False, "verify_nbf": False, "verify_iat": False}
    try:
        payload = jwt.decode(token, key, algorithms=algorithms, audience=audience,
                             issuer=issuer, options=options)
    except jwt.MissingRequiredClaimError as e:
        raise TokenError(f"missing claim {e.claim}") from None
    except jwt.PyJWTError as e:
        reason = next((text for kind, text in _REASONS if isinstance(e, kind)), "malformed")
        raise TokenError(reason) from None
    _check_times(payload, now.timestamp(), LEEWAY.total_seconds())
    return payload


def _check_times(payload: dict, now: float, leeway: float) -> None:
    times = {claim: payload[claim] for claim in ("exp", "nbf", "iat") if claim in payload}
    for value in times.values():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TokenError("malformed")
    if "exp" in times and times["exp"] <= now - leeway:
        raise TokenError("expired")
    if any(times.get(claim, now) > now + leeway for claim in ("nbf", "iat")):
        raise TokenError("not yet valid")


def _access_entries(value: object) -> tuple[dict, ...]:
    """Docker token spec: [{"type": str, "name": str, "actions": [str, ...]}, ...]."""
    if not isinstance(value, list):
        raise ValueError("access must be a list")
    entries = []
    for entry in value:
        if not (isinstance(entry, Mapping) and set(entry) == _ACCESS_KEYS
                and isinstance(entry["type"], str) and isinstance(entry["name"], str)
                and isinstance(entry["actions"], list)
                and all(isinstance(a, str) for a in entry["actions"])):
            raise ValueError("each access entry is {type: str, name: str, actions: [str]}")
        entries.append({"type": entry["type"], "name": entry["name"],
                        "actions": list(entry["actions"])})
    return tuple(entries)


def _claims(payload: dict, access: tuple[dict, ...]) -> TokenClaims:
    if not isinstance(payload["ptype"], str):
        raise TokenError("malformed")
    return TokenClaims(
        subject=payload["sub"],
        access=access,
        issued_at=datetime.fromtimestamp(payload["iat"], timezone.utc),
        expires_at=datetime.fromtimestamp(payload["exp"], timezone.utc),
        token_id=payload["jti"],
        principal_type=payload["ptype"],
        raw=MappingProxyType(payload),
    )


class TokenIssuer:
    def __init__(self, keys: KeyStore, issuer: str, clock: Clock,
                 lifetime: timedelta = ACCESS_LIFETIME):
        self._keys, self._issuer, self._clock, self._lifetime = keys, issuer, clock, lifetime

    def issue(self, subject: str, audience: str, access: list[dict], principal_type: str = "user",
              extra: Mapping | None = None) -> tuple[str, TokenClaims]:
        entries = _access_entries(access)  # ValueError: we never mint what verify() refuses
        clash = _RESERVED & set(extra or {})
        if clash:
            raise ValueError(f"extra claims may not override {sorted(clash)}")
        payload = {**(extra or {}), **self._base(subject, audience, principal_type, self._lifetime),
                   "access": [dict(e) for e in entries]}
        return self._sign(payload), _claims(payload, entries)

    def issue_refresh(self, subject: str, audience: str, principal_type: str = "user",
                      lifetime: timedelta = REFRESH_LIFETIME, extra: Mapping | None = None) -> str:
        clash = _RESERVED & set(extra or {})
        if clash:
            raise ValueError(f"extra claims may not override {sorted(clash)}")
        payload = self._base(subject, audience, principal_type, lifetime)
        return self._sign({**(extra or {}), **payload, "use": _REFRESH})

    def _base(self, subject: str, audience: str, principal_type: str, lifetime: timedelta) -> dict:
        now = self._clock.now()
        return {"iss": self._issuer, "sub": subject, "aud": audience,
                "exp": epoch(now + lifetime), "nbf": epoch(now), "iat": epoch(now),
                "jti": uuid.uuid4().hex, "ptype": principal_type}

    def _sign(self, payload: dict) -> str:
        key = self._keys.signing_key()
        return jwt.encode(payload, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


class TokenVerifier:
    def __init__(self, keys: KeyStore, issuer: str, audience: str, clock: Clock):
        self._keys, self._issuer, self._audience, self._clock = keys, issuer, audience, clock

    def verify(self, token: str) -> TokenClaims:
        """An access token; refresh tokens are refused."""
        payload = self._decode(token, _REQUIRED)
        if payload.get("use") == _REFRESH:
            raise TokenError("wrong token use")
        if payload.get("access") is None:
            raise TokenError("missing claim access")
        try:
            return _claims(payload, _access_entries(payload["access"]))
        except ValueError:
            raise TokenError("malformed") from None

    def verify_refresh(self, token: str) -> TokenClaims:
        """A refresh token; access tokens are refused."""
        payload = self._decode(token, _REQUIRED + ["use"])
        if payload["use"] != _REFRESH or "access" in payload:
            raise TokenError("wrong token use")
        return _claims(payload, ())

    def _decode(self, token: str, require: list[str]) -> dict:
        # The header picks the key, so it is checked before anything is trusted:
        # only ES256 (no "none", no HS256 keyed with our public PEM, no RS256).
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, TypeError, ValueError):
            raise TokenError("malformed") from None
        if header.get("alg") != ALGORITHM:
            raise TokenError("algorithm not allowed")
        kid = header.get("kid")
        key = self._keys.public_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenError("unknown key")
        return decode_jwt(token, key, algorithms=[ALGORITHM], audience=self._audience,
                          issuer=self._issuer, require=require, now=self._clock.now())
