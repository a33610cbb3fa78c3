"""Every table key and S3 key comes from here (like distribution's paths.go).

Table (one table, PK/SK):
  REGISTRIES             REG#<registry>             registry
  REG#<registry>         REPO#<repository>          repository
  REG#<registry>         BLOB#<digest>              blob stored in the registry (size, S3 key)
  REPO#<reg>/<repo>      BLOB#<digest>              blob linked into a repository
  REPO#<reg>/<repo>      MAN#<digest>               manifest
  REPO#<reg>/<repo>      TAG#<tag>                  tag (carries a copy of its manifest record)
  REPO#<reg>/<repo>      REF#<subject>#<digest>     referrer of a subject
  UPLOAD#<id>            META                       upload session (TTL)

S3 (one bucket):
  <registry>/blobs/data/<upload-id>        blob bytes, committed in place (no copy)
  <registry>/manifests/sha256/<hex>         manifest bytes
  _uploads/<upload-id>/carry/<offset>-<n>   chunk bytes waiting to reach the 5 MiB part minimum
"""
from __future__ import annotations

REGISTRIES_PK = "REGISTRIES"
META_SK = "META"


def registry_sk(registry: str) -> str:
    return f"REG#{registry}"


def registry_pk(registry: str) -> str:
    return f"REG#{registry}"


def repository_sk(repository: str) -> str:
    return f"REPO#{repository}"


def repo_pk(registry: str, repository: str) -> str:
    return f"REPO#{registry}/{repository}"


def blob_sk(digest: str) -> str:
    return f"BLOB#{digest}"


def manifest_sk(digest: str) -> str:
    return f"MAN#{digest}"


def tag_sk(tag: str) -> str:
    return f"TAG#{tag}"


def referrer_prefix(subject: str) -> str:
    return f"REF#{subject}#"


def referrer_sk(subject: str, digest: str) -> str:
    return f"{referrer_prefix(subject)}{digest}"


def upload_pk(upload_id: str) -> str:
    return f"UPLOAD#{upload_id}"


def blob_data_key(registry: str, upload_id: str) -> str:
    return f"{registry}/blobs/data/{upload_id}"


def manifest_key(registry: str, digest: str) -> str:
    algorithm, _, encoded = digest.partition(":")
    return f"{registry}/manifests/{algorithm}/{encoded}"


def carry_key(upload_id: str, offset: int, token: str) -> str:
    # Unique per write: a request that loses the race on the session cannot clobber the winner's bytes.
    return f"_uploads/{upload_id}/carry/{offset}-{token}"


def strip(prefix: str, value: str) -> str:
    return value[len(prefix):] if value.startswith(prefix) else value
