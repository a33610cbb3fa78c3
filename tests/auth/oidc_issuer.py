"""A tiny OpenID Connect issuer for tests, served over http on 127.0.0.1.

It publishes discovery and a JWKS, mints RS256 ID tokens, can rotate its key, and
counts the requests it serves (to prove clients cache):

    with OidcIssuer(clock) as idp:
        token = idp.id_token("u-1", "moorage", username="alice", groups=["dev"])
        idp.requests["/jwks.json"]
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.clock import Clock, SystemClock, epoch

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks.json"


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class OidcIssuer:
    def __init__(self, clock: Clock | None = None):
        self._clock = clock or SystemClock()
        self._keys = {secrets.token_hex(8): _rsa_key()}  # kid -> key, newest last, all published
        self.requests: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> OidcIssuer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # A short poll interval keeps shutdown() (and so each test's teardown) quick.
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def issuer(self) -> str:
        assert self._server is not None, "use OidcIssuer as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def kid(self) -> str:
        return list(self._keys)[-1]

    def rotate(self, keep_old: bool = False) -> str:
        """Sign with a new key from now on; the old one stays published only if asked."""
        kid = secrets.token_hex(8)
        self._keys = {**(self._keys if keep_old else {}), kid: _rsa_key()}
        return kid

    def jwks(self) -> dict:
        return {"keys": [
            {**jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True),
             "kid": kid, "alg": "RS256", "use": "sig"}
            for kid, key in self._keys.items()
        ]}

    def id_token(self, sub: str, audience: str, username: str | None = None,
                 groups: list[str] | None = None, expires_in: int = 300, *,
                 forged: bool = False, headers: dict | None = None, **extra: object) -> str:
        """An RS256 ID token from the current key; `forged=True` signs it with a
        fresh key that is not in the JWKS, under the published kid."""
        now = self._clock.now()
        claims: dict = {"iss": self.issuer, "sub": sub, "aud": audience,
                        "iat": epoch(now), "exp": epoch(now) + expires_in}
        if username is not None:
            claims["preferred_username"] = username
        if groups is not None:
            claims["groups"] = groups
        claims.update(extra)
        key = _rsa_key() if forged else self._keys[self.kid]
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})})


def _handler_for(idp: OidcIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            idp.requests[self.path] += 1
            if self.path == DISCOVERY_PATH:
                self._json({"issuer": idp.issuer, "jwks_uri": idp.issuer + JWKS_PATH,
                            "id_token_signing_alg_values_supported": ["RS256"]})
            elif self.path == JWKS_PATH:
                self._json(idp.jwks())
            else:
                self.send_error(404)

        def _json(self, document: dict) -> None:
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

    return Handler
