"""Secret hashing. Passwords (chosen by people, low entropy) get scrypt; robot secrets
(32 random bytes we generate) get SHA-256: a slow hash adds nothing to a secret that
cannot be guessed, and a robot logs in on every CI job.

Stored forms: `scrypt$<n>$<r>$<p>$<salt>$<hash>` and `sha256$<hash>` (base64url)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# 16 MiB of memory and ~50 ms per hash: OWASP's minimum for scrypt.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
MIN_PASSWORD_LENGTH = 8
MAX_SECRET_LENGTH = 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_password_strength(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_SECRET_LENGTH:
        raise ValueError(f"a password has at most {MAX_SECRET_LENGTH} characters")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def new_robot_secret() -> tuple[str, str]:
    """A fresh robot secret and its stored hash; the secret is shown once and never kept."""
    secret = secrets.token_urlsafe(32)
    return secret, _sha256(secret)


def _sha256(secret: str) -> str:
    return "sha256$" + _b64(hashlib.sha256(secret.encode()).digest())


def verify_secret(secret: str, stored: str | None) -> bool:
    """Constant-time check of a password or robot secret against its stored hash."""
    if not stored or not isinstance(secret, str) or len(secret) > MAX_SECRET_LENGTH:
        return False
    scheme, _, rest = stored.partition("$")
    if scheme == "sha256":
        return hmac.compare_digest(_sha256(secret), stored)
    if scheme == "scrypt":
        n, r, p, salt, expected = rest.split("$")
        digest = hashlib.scrypt(secret.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=32)
        return hmac.compare_digest(digest, _unb64(expected))
    return False
