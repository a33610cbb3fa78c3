"""IdP federation: OpenID Connect ID tokens from configured issuers become identities.

A CI job or a user presents an ID token (as the password of `docker login`, say);
its unverified `iss` picks the provider, whose JWKS (found through discovery
unless configured) supplies the key. Everything else is checked as for our own
tokens (tokens.decode_jwt): fixed asymmetric algorithms, audience, issuer, and
exp/iat against the injected clock.
"""

from __future__ import annotations

import json
import re
import urllib.request
from dataclasses import dataclass, fields
from ipaddress import ip_address
from urllib.parse import urlsplit

import jwt

from chalicelib.clock import Clock

from .tokens import TokenError, decode_jwt

# Asymmetric only: "none" and HS* (keyed by whatever the attacker names) never.
ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
# How long a fetched JWKS is trusted before it is fetched again. A kid not in it
# forces a refresh (at most once per cooldown), so IdP rotations are picked up early;
# the lifespan bounds how long a key the IdP withdrew keeps verifying.
JWKS_LIFESPAN_S = 600
_USERNAME_RE = re.compile(r"[A-Za-z0-9._@-]{1,128}")
_COMPACT_JWS_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_ENV = "MOORAGE_OIDC_PROVIDERS"


class OidcError(Exception):
    """An ID token we refuse; like TokenError, the message never echoes the token."""

    def __init__(self, reason: str):
        super().__init__(f"invalid identity token: {reason}")
        self.reason = reason


def _check_url(what: str, url: object) -> None:
    """https, or plain http to a loopback address (local runtime and tests)."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not parts.hostname or parts.scheme not in ("https", "http"):
        raise ValueError(f"{what} must be an https URL, got {url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(f"{what} must use https (plain http only to localhost), got {url!r}")


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class OidcProvider:
    issuer: str
    audience: str
    jwks_uri: str | None = None  # None: discovered from <issuer>/.well-known/openid-configuration
    username_claim: str = "preferred_username"
    groups_claim: str = "groups"
    algorithms: tuple[str, ...] = ("RS256", "ES256")

    def __post_init__(self) -> None:
        # Validated on construction, so a provider that would accept "none" cannot exist.
        _check_url("issuer", self.issuer)
        if self.jwks_uri is not None:
            _check_url("jwks_uri", self.jwks_uri)
        for name in ("audience", "username_claim", "groups_claim"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")
        if not isinstance(self.algorithms, (list, tuple)) or not self.algorithms:
            raise ValueError("algorithms must be a non-empty list")
        bad = [a for a in self.algorithms if a not in ALLOWED_ALGORITHMS]
        if bad:
            raise ValueError(f"algorithms {bad} not allowed; allowed: {sorted(ALLOWED_ALGORITHMS)}")
        object.__setattr__(self, "algorithms", tuple(self.algorithms))


def providers_from_env(text: str | None) -> list[OidcProvider]:
    """Parse MOORAGE_OIDC_PROVIDERS: a JSON list of objects with OidcProvider's fields."""
    if text is None or not text.strip():
        return []
    try:
        items = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{_ENV} is not valid JSON: {e}") from None
    if not isinstance(items, list):
        raise ValueError(f"{_ENV} must be a JSON list of provider objects")
    known = {f.name for f in fields(OidcProvider)}
    providers: list[OidcProvider] = []
    for i, item in enumerate(items):
        where = f"{_ENV}[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be an object")
        unknown = sorted(set(item) - known)
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
        if {"issuer", "audience"} - set(item):
            raise ValueError(f"{where}: issuer and audience are required")
        try:
            providers.append(OidcProvider(**item))
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
    issuers = [p.issuer for p in providers]
    if len(set(issuers)) != len(issuers):
        raise ValueError(f"{_ENV}: an issuer is listed twice")
    return providers


@dataclass(frozen=True)
class FederatedIdentity:
    issuer: str
    subject: str
    username: str
    groups: tuple[str, ...]


def _peek(token: str) -> tuple[dict, dict] | None:
    """Header and payload, unverified: only to choose the provider and key."""
    try:
        parts = jwt.decode_complete(token, options={"verify_signature": False})
    except (jwt.PyJWTError, TypeError, ValueError):
        return None
    return parts["header"], parts["payload"]


class OidcVerifier:
    def __init__(self, providers: list[OidcProvider], clock: Clock,
                 http_timeout: float = 5.0, refresh_cooldown_s: float = 30.0):
        self._providers = {p.issuer: p for p in providers}
        self._clock = clock
        self._http_timeout = http_timeout
        self._refresh_cooldown_s = refresh_cooldown_s
        # One JWKS client per issuer, kept for the life of the instance (a warm Lambda).
        self._jwks: dict[str, jwt.PyJWKClient] = {}

    def looks_like_id_token(self, text: str) -> bool:
        if not isinstance(text, str) or not _COMPACT_JWS_RE.fullmatch(text):
            return False
        peeked = _peek(text)
        issuer = peeked[1].get("iss") if peeked else None
        return isinstance(issuer, str) and issuer in self._providers

    def verify(self, id_token: str) -> FederatedIdentity:
        peeked = _peek(id_token)
        if peeked is None:
            raise OidcError("malformed")
        header, unverified = peeked
        issuer = unverified.get("iss")
        provider = self._providers.get(issuer) if isinstance(issuer, str) else None
        if provider is None:
            raise OidcError("unknown issuer")
        if header.get("alg") not in provider.algorithms:
            raise OidcError("algorithm not allowed")
        key = self._signing_key(provider, id_token)
        try:
            payload = decode_jwt(id_token, key, algorithms=list(provider.algorithms),
                                 audience=provider.audience, issuer=provider.issuer,
                                 require=["exp", "iat", "sub", "iss", "aud"], now=self._clock.now())
        except TokenError as e:
            raise OidcError(e.reason) from None
        return FederatedIdentity(provider.issuer, payload["sub"],
                                 _username(payload, provider), _groups(payload, provider))

    def _signing_key(self, provider: OidcProvider, token: str):
        try:
            return self._jwks_client(provider).get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError:
            raise OidcError("provider unreachable") from None
        except jwt.PyJWTError:
            raise OidcError("unknown key") from None

    def _jwks_client(self, provider: OidcProvider) -> jwt.PyJWKClient:
        client = self._jwks.get(provider.issuer)
        if client is None:
            # No per-kid cache (cache_keys): it never expires, so a key the IdP
            # withdrew would verify for the life of the instance. The JWKS cache
            # (lifespan) already spares the IdP a request per token.
            client = jwt.PyJWKClient(self._jwks_uri(provider), lifespan=JWKS_LIFESPAN_S,
                                     timeout=self._http_timeout,
                                     cooldown_duration=self._refresh_cooldown_s)
            self._jwks[provider.issuer] = client
        return client

    def _jwks_uri(self, provider: OidcProvider) -> str:
        if provider.jwks_uri:
            return provider.jwks_uri
        url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(url, timeout=self._http_timeout) as response:
                config = json.load(response)
        except (OSError, ValueError):  # URLError and timeouts are OSErrors; bad JSON a ValueError
            raise OidcError("provider unreachable") from None
        # OIDC Discovery 1.0 section 4.3: the document must name the issuer we asked.
        if not isinstance(config, dict) or config.get("issuer") != provider.issuer:
            raise OidcError("provider misconfigured")
        try:
            _check_url("jwks_uri", config.get("jwks_uri"))
        except ValueError:
            raise OidcError("provider misconfigured") from None
        return config["jwks_uri"]


def _username(payload: dict, provider: OidcProvider) -> str:
    """The configured claim, else a verified-or-unmarked email, else sub."""
    candidates = [payload.get(provider.username_claim)]
    if payload.get("email_verified") is not False:
        candidates.append(payload.get("email"))
    candidates.append(payload.get("sub"))
    username = next((c for c in candidates if c not in (None, "")), None)
    if not isinstance(username, str) or not _USERNAME_RE.fullmatch(username):
        raise OidcError("bad username")
    return username


def _groups(payload: dict, provider: OidcProvider) -> tuple[str, ...]:
    groups = payload.get(provider.groups_claim)
    if groups is None:
        return ()
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise OidcError("malformed")
    return tuple(groups)
