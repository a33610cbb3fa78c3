"""The authority of a request: who is calling (credentials or a token) and what they may do
(policies). Used by the token endpoint, the /v2/ guard and the management API alike."""
from __future__ import annotations

import base64
from dataclasses import dataclass

from .policy import RequestContext, evaluate
from .principals import ANONYMOUS, Identity, PrincipalService
from .scopes import Scope, granted_access
from .tokens import TokenClaims, TokenError, TokenIssuer, TokenVerifier


class AuthFailed(Exception):
    """Credentials or a token were presented and are not valid (the message says which)."""


@dataclass(frozen=True)
class Credentials:
    username: str
    secret: str


def basic_credentials(header: str | None) -> Credentials | None:
    """The user and password of an `Authorization: Basic` header; None for other schemes."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text b64decode cannot read
        raise AuthFailed("malformed Basic credentials") from None
    username, sep, secret = decoded.partition(":")
    if not sep or not username:
        raise AuthFailed("malformed Basic credentials")
    return Credentials(username, secret)


def bearer_token(header: str | None) -> str | None:
    scheme, _, value = (header or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class LoginThrottled(AuthFailed):
    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AuthService:
    def __init__(self, principals: PrincipalService, issuer: TokenIssuer, verifier: TokenVerifier,
                 keys, clock, service: str, failures=None, max_failures: int = 10):
        self._failures = failures  # LoginFailures (store/throttle.py); None: no throttling
        self._max_failures = max_failures
        self.principals = principals
        self._issuer = issuer
        self._verifier = verifier
        self._keys = keys
        self._clock = clock
        self.service = service

    # ---- who ----------------------------------------------------------------------------

    def login(self, credentials: Credentials | None) -> Identity:
        """Basic credentials to an identity (none: anonymous). Raises AuthFailed, and
        LoginThrottled once an account had too many failures lately (checked before the
        password, so guessing costs the guesser, not the registry)."""
        if credentials is None:
            return ANONYMOUS
        now = self._clock.now()
        if self._failures is not None and self._failures.recent(credentials.username, now) >= self._max_failures:
            raise LoginThrottled(f"too many failed logins for {credentials.username[:64]!r}; try again later",
                                 self._failures.retry_after(now))
        identity = self.principals.authenticate(credentials.username, credentials.secret)
        if identity is None:
            if self._failures is not None:
                self._failures.add(credentials.username, now)
            raise AuthFailed("invalid username or password")
        return identity

    def identify(self, token: str) -> tuple[Identity, TokenClaims]:
        """The identity of a registry access token. Raises AuthFailed."""
        try:
            claims = self._verifier.verify(token)
        except TokenError as error:
            raise AuthFailed(f"invalid token: {error.reason}") from None
        identity = _identity(claims)
        if identity.ptype == "robot" and not self.principals.still_valid(identity):
            raise AuthFailed("invalid token: the robot account was revoked or expired")
        return identity, claims

    def refresh(self, refresh_token: str) -> Identity:
        try:
            claims = self._verifier.verify_refresh(refresh_token)
        except TokenError as error:
            raise AuthFailed(f"invalid refresh token: {error.reason}") from None
        identity = _identity(claims)
        if not self.principals.still_valid(identity):
            raise AuthFailed("invalid refresh token: the account no longer exists or was revoked")
        if identity.ptype == "user":  # a user's groups as they are now, not as at login
            record = self.principals.get("user", identity.name)
            identity = Identity("user", identity.name, tuple(record.groups))
        return identity

    # ---- what ---------------------------------------------------------------------------

    def allowed(self, identity: Identity, action: str, resource: str, source_ip: str = "",
                policies=None) -> bool:
        registry = _registry_of(resource)
        if identity.ptype == "robot" and registry != identity.robot_registry:
            return False  # a robot never acts outside its registry, whatever it is granted
        if policies is None:
            policies = self.principals.effective_policies(identity, {registry} if registry else set())
        context = RequestContext(source_ip=source_ip, now=self._clock.now(), principal=identity.subject,
                                 principal_type=identity.ptype)
        return evaluate(policies, action, resource, context).allowed

    def checker(self, identity: Identity, registries: set[str], source_ip: str = ""):
        """allowed(action, resource) with the policies loaded once (for many checks)."""
        policies = self.principals.effective_policies(identity, registries)
        return lambda action, resource: self.allowed(identity, action, resource, source_ip, policies)

    # ---- tokens -------------------------------------------------------------------------

    def issue(self, identity: Identity, scopes: list[Scope], source_ip: str = "", offline: bool = False) -> dict:
        """The token endpoint's answer: an access token for what the policies allow of
        `scopes` (never more), and a refresh token when asked for `offline` access."""
        registries = {s.name.split("/", 1)[0] for s in scopes if s.type == "repository"}
        access = granted_access(scopes, self.checker(identity, registries, source_ip))
        extra = {"groups": list(identity.groups)} if identity.groups else None
        token, claims = self._issuer.issue(identity.subject, self.service, access, identity.ptype, extra)
        body = {"token": token, "access_token": token,
                "expires_in": int((claims.expires_at - claims.issued_at).total_seconds()),
                "issued_at": claims.issued_at.isoformat().replace("+00:00", "Z"),
                "scope": " ".join(s.text() for s in scopes)}
        if offline and identity.ptype != "anonymous":
            # A federated user's groups are only in the ID token, so its refresh token keeps them.
            kept = extra if identity.ptype == "federated" else None
            body["refresh_token"] = self._issuer.issue_refresh(identity.subject, self.service, identity.ptype,
                                                               extra=kept)
        return body

    def jwks(self) -> dict:
        return self._keys.jwks()


def _identity(claims: TokenClaims) -> Identity:
    groups = claims.raw.get("groups") or ()
    try:
        return Identity.from_subject(claims.subject, tuple(g for g in groups if isinstance(g, str)))
    except ValueError:
        raise AuthFailed("invalid token: unknown subject") from None


def _registry_of(resource: str) -> str | None:
    for prefix in ("mrn:registry:", "mrn:repository:"):
        if resource.startswith(prefix):
            return resource[len(prefix):].split("/", 1)[0]
    return None
