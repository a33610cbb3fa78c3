"""Configuration from environment variables (set by .chalice/config.json stages and by the
local runtime alike). Read once, on first use, never at import."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    table_name: str
    bucket: str
    region: str
    # Where the function's own AWS calls go (moto locally; None on AWS).
    aws_endpoint: str | None
    # Where pre-signed URLs point: clients must reach it (the embedded S3 port locally).
    s3_public_endpoint: str | None
    presign_ttl_s: int
    upload_ttl_s: int
    # Manifests up to this size are also kept inline in the table item (items cap at 400 KB).
    inline_manifest_max: int
    # Largest request body the function accepts (bare API Gateway carries ~4.5 MiB raw).
    max_request_body: int
    default_registry: str
    # Docker token auth: the `service` clients name, the tokens' issuer, where the signing
    # keys live (Secrets Manager), and the public base URL (else derived from the request).
    service: str = "moorage"
    token_issuer: str = "moorage"
    keys_secret: str = "moorage/token-keys"
    public_url: str | None = None
    # JSON list of OIDC identity providers (chalicelib/auth/oidc.py).
    oidc_providers: str | None = None
    # Event consumers' queues are named <queue_prefix>-<consumer> (chalicelib/events/consumers.py).
    queue_prefix: str = "moorage"
    # How long audit records are kept (DynamoDB TTL).
    audit_retention_days: int = 365
    # Webhooks may target loopback and private addresses (local runs and tests only).
    webhook_allow_private: bool = False
    # Garbage collection removes what nothing used for this long (uploads and mounts in
    # flight, manifests about to be pushed are younger).
    gc_grace_s: int = 3600
    # How long a function instance keeps a registry's settings and content policy.
    settings_cache_ttl_s: float = 10.0
    # Where a function keeps the vulnerability DB it downloaded (/tmp on Lambda), and the
    # OSV sources (URLs or paths, space-separated) the daily refresh imports.
    vulndb_cache_dir: str | None = None
    # Failed logins an account may have within two windows before logins are refused.
    login_max_failures: int = 10
    login_window_s: int = 900
    vulndb_sources: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        return cls(
            table_name=env.get("MOORAGE_TABLE", "moorage"),
            bucket=env.get("MOORAGE_BUCKET", "moorage"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            aws_endpoint=env.get("MOORAGE_AWS_ENDPOINT") or None,
            s3_public_endpoint=env.get("MOORAGE_S3_PUBLIC_ENDPOINT") or None,
            presign_ttl_s=int(env.get("MOORAGE_PRESIGN_TTL", "300")),
            upload_ttl_s=int(env.get("MOORAGE_UPLOAD_TTL", str(24 * 3600))),
            inline_manifest_max=int(env.get("MOORAGE_INLINE_MANIFEST_MAX", str(128 * 1024))),
            max_request_body=int(env.get("MOORAGE_MAX_REQUEST_BODY", str(4_500_000))),
            default_registry=env.get("MOORAGE_DEFAULT_REGISTRY", "library"),
            service=env.get("MOORAGE_SERVICE", "moorage"),
            token_issuer=env.get("MOORAGE_TOKEN_ISSUER", "moorage"),
            keys_secret=env.get("MOORAGE_KEYS_SECRET") or f"{env.get('MOORAGE_TABLE', 'moorage')}/token-keys",
            public_url=(env.get("MOORAGE_PUBLIC_URL") or "").rstrip("/") or None,
            oidc_providers=env.get("MOORAGE_OIDC_PROVIDERS") or None,
            queue_prefix=env.get("MOORAGE_QUEUE_PREFIX", "moorage"),
            audit_retention_days=int(env.get("MOORAGE_AUDIT_RETENTION_DAYS", "365")),
            webhook_allow_private=env.get("MOORAGE_WEBHOOK_ALLOW_PRIVATE", "").lower() in ("1", "true", "yes"),
            gc_grace_s=int(env.get("MOORAGE_GC_GRACE", "3600")),
            settings_cache_ttl_s=float(env.get("MOORAGE_SETTINGS_CACHE_TTL", "10")),
            vulndb_cache_dir=env.get("MOORAGE_VULNDB_CACHE") or None,
            login_max_failures=int(env.get("MOORAGE_LOGIN_MAX_FAILURES", "10")),
            login_window_s=int(env.get("MOORAGE_LOGIN_WINDOW", "900")),
            vulndb_sources=tuple((env.get("MOORAGE_VULNDB_SOURCES") or "").split()),
        )
