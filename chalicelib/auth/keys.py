"""Token-signing keys: EC P-256 keys kept in one Secrets Manager secret.

The secret is created on first use and rotated by whichever instance first sees
that the newest key is too old. A superseded key is kept for `overlap`, so tokens
it signed keep verifying while they live. The secret value is

    {"keys": [{"kid": ..., "private_pem": ..., "created_at": "<iso 8601>"}, ...]}

Writers race safely: creation relies on CreateSecret failing for the second
writer; rotation stores the new value as AWSPENDING and then moves AWSCURRENT
with RemoveFromVersionId set to the version it read, which Secrets Manager
refuses if someone else moved it first. Either way the loser re-reads and uses
what is stored, so no key that signed a token is ever lost.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.clock import Clock

# A kid missing from the cache may be a key another instance just rotated in, so
# it triggers a re-read; but not more often than this, or a stream of tokens with
# made-up kids would become a stream of Secrets Manager calls.
MISS_REFRESH_AFTER = timedelta(seconds=5)

_CURRENT, _PENDING = "AWSCURRENT", "AWSPENDING"
# Fixed namespace for request tokens derived from a kid (uuid5), so a retried
# write of the same key is idempotent and two writers never share a token.
_TOKEN_NAMESPACE = uuid.UUID("0b6f7a52-3f8e-4c59-9a57-3d1f2f1c7e11")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The RFC 7518 members of a P-256 public key (no kid, alg or use)."""
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }


def thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, without whitespace."""
    members = json.dumps(public_jwk(public_key), sort_keys=True, separators=(",", ":"))
    return _b64url(hashlib.sha256(members.encode("ascii")).digest())


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    created_at: datetime

    @classmethod
    def generate(cls, created_at: datetime) -> SigningKey:
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        return cls(thumbprint(private.public_key()), pem, created_at)

    # Parsed once per key: tokens are signed with the loaded key, not the PEM.
    @cached_property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.private_pem.encode("ascii"), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"signing key {self.kid} is not an EC key")
        return key

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    def to_json(self) -> dict[str, str]:
        return {"kid": self.kid, "private_pem": self.private_pem,
                "created_at": self.created_at.isoformat()}

    @classmethod
    def from_json(cls, item: dict) -> SigningKey:
        created_at = datetime.fromisoformat(item["created_at"])
        if created_at.tzinfo is None:
            raise ValueError(f"signing key {item['kid']} has a naive created_at")
        return cls(str(item["kid"]), str(item["private_pem"]), created_at)


def _prune(keys: list[SigningKey], now: datetime, overlap: timedelta) -> list[SigningKey]:
    """Oldest first; the newest always stays, an older one while it was
    superseded (by the next key's creation) less than `overlap` ago."""
    keys = sorted(keys, key=lambda k: k.created_at)
    kept = [k for k, after in zip(keys, keys[1:]) if now - after.created_at < overlap]
    return kept + keys[-1:]


@dataclass(frozen=True)
class _Snapshot:
    version_id: str | None  # None: the secret does not exist yet
    keys: tuple[SigningKey, ...]
    loaded_at: datetime


class KeyStore:
    def __init__(
        self,
        client,
        secret_id: str,
        clock: Clock,
        rotate_after: timedelta = timedelta(days=30),
        overlap: timedelta = timedelta(days=1),
        cache_ttl: timedelta = timedelta(minutes=5),
    ):
        self._client = client  # a boto3 "secretsmanager" client
        self._secret_id = secret_id
        self._clock = clock
        self._rotate_after = rotate_after
        self._overlap = overlap
        self._cache_ttl = cache_ttl
        self._snapshot: _Snapshot | None = None

    def signing_key(self) -> SigningKey:
        """The newest key, creating the secret or rotating as needed."""
        cached = self._snapshot
        snapshot = self._read()
        if self._needs_key(snapshot) and snapshot is cached:
            snapshot = self._read(force=True)  # another instance may have done it
        if self._needs_key(snapshot):
            snapshot = self._add_key(snapshot)
        return snapshot.keys[-1]

    def rotate(self) -> SigningKey:
        """Add a new key now (admin action); the previous one enters its overlap."""
        return self._add_key(self._read(force=True)).keys[-1]

    def public_keys(self) -> dict[str, ec.EllipticCurvePublicKey]:
        return {k.kid: k.public_key for k in self._kept(self._read())}

    def public_key(self, kid: str) -> ec.EllipticCurvePublicKey | None:
        """The key for a token's kid; an unknown kid re-reads the secret once,
        since another instance may have rotated since our cache was filled."""
        found = self.public_keys().get(kid)
        snapshot = self._snapshot
        stale = snapshot is None or self._clock.now() - snapshot.loaded_at >= MISS_REFRESH_AFTER
        if found is None and stale:
            self._read(force=True)
            found = self.public_keys().get(kid)
        return found

    def jwks(self) -> dict:
        return {"keys": [
            {**public_jwk(k.public_key), "kid": k.kid, "alg": "ES256", "use": "sig"}
            for k in self._kept(self._read())
        ]}

    def _kept(self, snapshot: _Snapshot) -> list[SigningKey]:
        if not snapshot.keys:
            return []
        return _prune(list(snapshot.keys), self._clock.now(), self._overlap)

    def _needs_key(self, snapshot: _Snapshot) -> bool:
        if not snapshot.keys:
            return True
        return self._clock.now() - snapshot.keys[-1].created_at >= self._rotate_after

    # -- Secrets Manager ------------------------------------------------------------

    def _read(self, force: bool = False) -> _Snapshot:
        now = self._clock.now()
        cached = self._snapshot
        if cached and not force and now - cached.loaded_at < self._cache_ttl:
            return cached
        try:
            # Ask for AWSCURRENT by name: the version we will compare-and-swap from.
            out = self._client.get_secret_value(SecretId=self._secret_id, VersionStage=_CURRENT)
        except self._client.exceptions.ResourceNotFoundException:
            snapshot = _Snapshot(None, (), now)
        else:
            keys = [SigningKey.from_json(item) for item in json.loads(out["SecretString"])["keys"]]
            keys.sort(key=lambda k: k.created_at)
            snapshot = _Snapshot(out["VersionId"], tuple(keys), now)
        self._snapshot = snapshot
        return snapshot

    def _add_key(self, snapshot: _Snapshot) -> _Snapshot:
        new = SigningKey.generate(self._clock.now())
        keys = self._kept(snapshot) + [new]
        value = json.dumps({"keys": [k.to_json() for k in keys]})
        token = str(uuid.uuid5(_TOKEN_NAMESPACE, new.kid))
        errors = self._client.exceptions
        try:
            if snapshot.version_id is None:
                self._client.create_secret(
                    Name=self._secret_id, SecretString=value, ClientRequestToken=token,
                    Description="moorage registry token-signing keys",
                )
            else:
                self._client.put_secret_value(
                    SecretId=self._secret_id, SecretString=value,
                    ClientRequestToken=token, VersionStages=[_PENDING],
                )
                self._client.update_secret_version_stage(
                    SecretId=self._secret_id, VersionStage=_CURRENT,
                    MoveToVersionId=token, RemoveFromVersionId=snapshot.version_id,
                )
        except (errors.ResourceExistsException, errors.InvalidParameterException,
                errors.InvalidRequestException):
            pass  # another writer won; what it stored is as good as ours
        stored = self._read(force=True)
        if not stored.keys:  # only if a read lags the write; the next request retries
            raise RuntimeError(f"secret {self._secret_id} has no signing key after writing one")
        return stored
