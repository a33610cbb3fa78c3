"""Logging in from the CLI: docker token authentication for `requests`, and the stored
login (a refresh token per registry URL, never the password) that `moorage login` writes.

Credentials come from, in order: MOORAGE_USERNAME/MOORAGE_PASSWORD, then the stored login.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from requests.auth import AuthBase

from chalicelib.oci import NAME_RE

_PARAM = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_REPOSITORY = re.compile(r"/v2/(.+?)/(?:manifests|blobs|tags|referrers)/")
TOKEN_MARGIN_S = 20  # renew a token this long before it expires


def credentials_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "moorage" / "credentials.json"


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.partition(" ")
    return scheme.lower(), {k: re.sub(r"\\(.)", r"\1", v) for k, v in _PARAM.findall(rest)}


class LoginError(Exception):
    pass


class TokenAuth(AuthBase):
    """Send requests; on a 401 with a Bearer challenge get a token for the challenged scope
    and send again (as docker does). Tokens are kept per repository until they expire."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None,
                 refresh_token: str | None = None):
        self.url = url.rstrip("/")
        self.username, self.password, self.refresh_token = username, password, refresh_token
        self._tokens: dict[str, tuple[str, float]] = {}  # key -> (token, expires at)
        self._lock = threading.Lock()

    # ---- getting tokens -----------------------------------------------------------------

    def fetch(self, scopes: list[str]) -> dict:
        """A token response for `scopes` from the registry's token endpoint."""
        form = {"service": "moorage", "scope": " ".join(scopes), "client_id": "moorage-cli"}
        if self.refresh_token:
            response = requests.post(f"{self.url}/token", data={**form, "grant_type": "refresh_token",
                                                                 "refresh_token": self.refresh_token}, timeout=30)
        elif self.username:
            response = requests.post(f"{self.url}/token", data={
                **form, "grant_type": "password", "username": self.username, "password": self.password or "",
                "access_type": "offline"}, timeout=30)
        else:  # anonymous
            response = requests.get(f"{self.url}/token", params={"service": "moorage", "scope": scopes}, timeout=30)
        if response.status_code != 200:
            raise LoginError(_oauth_error(response))
        return response.json()

    def authorize(self, *scopes: str, key: str = "") -> str:
        """Get (or reuse) a token for `scopes`, kept under `key` (a repository, or '' for the API)."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > time.monotonic():
                return cached[0]
        body = self.fetch(list(scopes))
        token = body["token"]
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + body.get("expires_in", 60) - TOKEN_MARGIN_S)
        return token

    # ---- requests hooks -------------------------------------------------------------------

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if not request.url.startswith(self.url + "/"):
            return request  # pre-signed storage URLs carry their own authority
        if "/api/v1/" in request.url:
            request.headers["Authorization"] = f"Bearer {self.authorize()}"
            return request
        cached = self._tokens.get(self._key(request.url))
        if cached and cached[1] > time.monotonic():
            request.headers["Authorization"] = f"Bearer {cached[0]}"
        request.register_hook("response", self._retry_with_token)
        return request

    @staticmethod
    def _key(url: str) -> str:
        """Tokens are kept per repository; a mount also reads its source repository."""
        match = _REPOSITORY.search(url)
        if not match:
            return "/v2/"
        source = _mount_source(url)
        return f"{match.group(1)} from {source}" if source else match.group(1)

    def _retry_with_token(self, response: requests.Response, **kwargs) -> requests.Response:
        header = response.headers.get("WWW-Authenticate", "")
        # 401: log in; 403 insufficient_scope: the token lacks this scope (RFC 6750 3.1).
        wants_token = response.status_code == 401 or (
            response.status_code == 403 and 'error="insufficient_scope"' in header)
        if not wants_token or not header.lower().startswith("bearer ") \
                or getattr(response.request, "_moorage_retry", False):
            return response
        _, params = parse_challenge(header)
        key = self._key(response.request.url)
        with self._lock:
            self._tokens.pop(key, None)
        try:
            scopes = [params["scope"]] if params.get("scope") else []
            source = _mount_source(response.request.url)
            if source and NAME_RE.fullmatch(source):  # as docker does: ask for the source too
                scopes.append(f"repository:{source}:pull")
            token = self.authorize(*scopes, key=key)
        except LoginError:
            return response
        response.content  # read it, so the connection can be reused
        response.raw.release_conn()
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {token}"
        retry._moorage_retry = True
        again = response.connection.send(retry, **kwargs)
        again.history.append(response)
        again.request = retry
        return again


def _mount_source(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("from")
    return values[0] if values and "mount" in parse_qs(urlsplit(url).query) else None


def _oauth_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"token endpoint answered HTTP {response.status_code}"
    if "error_description" in body:
        return body["error_description"]
    errors = body.get("errors") or [{}]
    return errors[0].get("message") or f"token endpoint answered HTTP {response.status_code}"


# ---- the stored login ------------------------------------------------------------------------

def stored_logins() -> dict:
    try:
        return json.loads(credentials_file().read_text())
    except (OSError, ValueError):
        return {}


def save_login(url: str, username: str, refresh_token: str) -> Path:
    path = credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    logins = {**stored_logins(), url.rstrip("/"): {"username": username, "refresh_token": refresh_token}}
    # Written private from the start: the refresh token is a credential.
    descriptor = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(logins, out, indent=2)
    os.replace(path.with_suffix(".tmp"), path)
    return path


def forget_login(url: str) -> bool:
    logins = stored_logins()
    if logins.pop(url.rstrip("/"), None) is None:
        return False
    save = credentials_file()
    save.write_text(json.dumps(logins, indent=2))
    return True


def auth_for(url: str) -> TokenAuth:
    """The CLI's authority at `url`: environment credentials, else the stored login, else anonymous."""
    if os.environ.get("MOORAGE_USERNAME"):
        return TokenAuth(url, os.environ["MOORAGE_USERNAME"], os.environ.get("MOORAGE_PASSWORD", ""))
    stored = stored_logins().get(url.rstrip("/"))
    if stored:
        return TokenAuth(url, refresh_token=stored["refresh_token"])
    return TokenAuth(url)
