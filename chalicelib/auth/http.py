"""HTTP faces of authority: the token endpoint (distribution token spec + OAuth2 as
containerd uses it), the JWKS, and the guard every /v2/ request passes."""
from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import parse_qs

from chalicelib.oci import Code, OciError, Route, action_for
from chalicelib.registry.http.base import Notice, Request, Response

from .policy import repository_resource
from .principals import Identity
from .scopes import Scope, ScopeError, access_allows, challenge, parse_scopes, split_repository
from .service import AuthFailed, LoginThrottled, basic_credentials, bearer_token

NO_STORE = {"Cache-Control": "no-store"}  # token responses must not be cached (RFC 6749 5.1)


def _json(status: int, body: object, **headers: str) -> Response:
    data = json.dumps(body).encode()
    return Response(status, {"Content-Type": "application/json", "Content-Length": str(len(data)),
                             **NO_STORE, **headers}, data)


def realm(request: Request, settings) -> str:
    return f"{settings.public_url or request.base_url}/token"


# ---- the token endpoint ------------------------------------------------------------------

def token(request: Request, services) -> Response:
    if request.method == "GET":
        return _token_get(request, services)
    if request.method == "POST":
        return _token_post(request, services)
    return _json(405, {"errors": [{"code": "UNSUPPORTED", "message": "use GET or POST"}]}, Allow="GET, POST")


def _token_get(request: Request, services) -> Response:
    """Docker's flow: Basic credentials (or none), `scope` repeated, `service`, `offline_token`."""
    auth = services.auth
    try:
        scopes = _scopes(request.query.get("scope", ()), request.param("service"), auth.service)
        credentials = basic_credentials(request.header("authorization"))
        identity = auth.login(credentials)
    except ScopeError as error:
        return _json(400, {"errors": [{"code": "INVALID_SCOPE", "message": str(error)}]})
    except LoginThrottled as error:
        failed = _json(429, {"errors": [{"code": "TOOMANYREQUESTS", "message": str(error)}]},
                       **{"Retry-After": str(error.retry_after_s)})
        return replace(failed, notice=_login_failed(request, str(error), "basic"))
    except AuthFailed as error:
        failed = _json(401, {"errors": [{"code": Code.UNAUTHORIZED.code, "message": str(error)}]},
                       **{"WWW-Authenticate": f'Basic realm="{auth.service}"'})
        return replace(failed, notice=_login_failed(request, str(error), "basic"))
    offline = (request.param("offline_token") or "").lower() == "true"
    issued = _json(200, auth.issue(identity, scopes, request.source_ip, offline))
    return replace(issued, notice=_login(identity, "basic")) if credentials else issued


def _token_post(request: Request, services) -> Response:
    """OAuth2 `password` and `refresh_token` grants (containerd, docker's identity tokens)."""
    auth = services.auth
    form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    grant = form.get("grant_type")
    try:
        scopes = _scopes(form.get("scope", "").split(), form.get("service"), auth.service)
        if grant == "password":
            identity = auth.login(_form_credentials(form))
        elif grant == "refresh_token":
            identity = auth.refresh(form.get("refresh_token", ""))
        else:
            return _json(400, {"error": "unsupported_grant_type",
                               "error_description": "grant_type must be password or refresh_token"})
    except ScopeError as error:
        return _json(400, {"error": "invalid_scope", "error_description": str(error)})
    except AuthFailed as error:
        throttled = isinstance(error, LoginThrottled)
        failed = _json(429 if throttled else 401, {"error": "invalid_grant", "error_description": str(error)},
                       **({"Retry-After": str(error.retry_after_s)} if throttled else {}))
        return replace(failed, notice=_login_failed(request, str(error), grant, form.get("username")))
    body = auth.issue(identity, scopes, request.source_ip, offline=grant == "password")
    if grant == "refresh_token":
        body["refresh_token"] = form["refresh_token"]  # keep using the same one
    return replace(_json(200, body), notice=_login(identity, grant))


def _login(identity: Identity, grant: str) -> Notice:
    return Notice("login.succeeded", identity.subject, details={"grant": grant})


def _login_failed(request: Request, reason: str, grant: str, username: str | None = None) -> Notice:
    if username is None:
        try:
            credentials = basic_credentials(request.header("authorization"))
            username = credentials.username if credentials else None
        except AuthFailed:
            username = None
    # The name tried is the caller's claim, not an identity: details, not the actor.
    return Notice("login.failed", "anonymous", result="failed",
                  details={"grant": grant, "username": (username or "")[:128], "reason": reason})


def _form_credentials(form: dict[str, str]):
    from .service import Credentials

    if not form.get("username"):
        raise AuthFailed("username and password are required")
    return Credentials(form["username"], form.get("password", ""))


def _scopes(values, service: str | None, expected: str) -> list[Scope]:
    if service is not None and service != expected:
        raise ScopeError(f"unknown service {service[:64]!r} (this registry is {expected!r})")
    return parse_scopes(values)


def jwks(request: Request, services) -> Response:
    return _json(200, services.auth.jwks())


# ---- the /v2/ guard ------------------------------------------------------------------------

def authorize_v2(request: Request, match, services) -> Request:
    """The request with its caller's authority filled in, or OciError 401 with the challenge
    docker expects. Access is checked before anything is looked up, so a caller without it
    learns nothing of what exists."""
    auth = services.auth
    needed = _needed_scope(match, request.method)
    token_text = bearer_token(request.header("authorization"))
    if token_text is None:
        raise _challenge(request, services, needed, Code.UNAUTHORIZED, "authentication required")
    try:
        identity, claims = auth.identify(token_text)
    except AuthFailed as error:
        raise _challenge(request, services, needed, Code.UNAUTHORIZED, str(error), "invalid_token") from None
    missing = [] if needed is None else [
        a for a in needed.actions if not access_allows(claims.access, needed.type, needed.name, a)]
    if missing:
        # RFC 6750 3.1: a valid token without the scope is 403 insufficient_scope (clients such
        # as oras-py fetch a new token only then); an anonymous caller is asked to log in.
        code = Code.UNAUTHORIZED if identity.ptype == "anonymous" else Code.DENIED
        raise _challenge(request, services, needed, code, f"access to {needed.text()} is not granted",
                         "insufficient_scope", subject=identity.subject)
    can_pull = _catalog_filter(identity, request, services) if match.route == Route.CATALOG else None
    return replace(request, actor=identity.subject, access=tuple(claims.access), can_pull=can_pull)


def _needed_scope(match, method: str) -> Scope | None:
    if match.route == Route.BASE:
        return None
    if match.route == Route.CATALOG:
        return Scope("registry", "catalog", ("*",))
    action = action_for(match.route, method).value
    # Pushing needs pull too: clients HEAD blobs and mount before they upload (distribution does the same).
    actions = ("pull", "push") if action == "push" else (action,)
    return Scope("repository", str(match.name), actions)


def _challenge(request: Request, services, scope: Scope | None, code: Code, message: str,
               error: str | None = None, subject: str | None = None) -> OciError:
    header = challenge(realm(request, services.settings), services.auth.service, scope, error)
    status = 403 if code == Code.DENIED else 401
    detail = {"subject": subject} if subject else None  # the caller's own identity, for the audit
    return OciError(code, detail=detail, message=message, status=status, headers={"WWW-Authenticate": header})


def _catalog_filter(identity: Identity, request: Request, services):
    registries = {r.name for r in services.registries.list()}
    allowed = services.auth.checker(identity, registries, request.source_ip)

    def can_pull(name: str) -> bool:
        registry, repository = split_repository(name)
        return allowed("repository:Pull", repository_resource(registry, repository))
    return can_pull


def authenticate_bearer(header: str | None, services) -> str | None:
    """The subject of a valid `Bearer` token header, else None (API Gateway's authorizer)."""
    token_text = bearer_token(header)
    if token_text is None:
        return None
    try:
        return services.auth.identify(token_text)[0].subject
    except AuthFailed:
        return None


# ---- the management API's caller ----------------------------------------------------------

def api_identity(request: Request, services) -> Identity:
    """The caller of /api/v1: a registry token (Bearer) or Basic credentials. Raises
    AuthFailed when none or invalid ones are presented."""
    header = request.header("authorization")
    token_text = bearer_token(header)
    if token_text is not None:
        return services.auth.identify(token_text)[0]
    credentials = basic_credentials(request.header("authorization"))
    if credentials is None:
        raise AuthFailed("authentication required: log in with `moorage login` or send a token")
    return services.auth.login(credentials)
