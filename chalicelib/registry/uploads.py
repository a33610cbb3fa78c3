"""Blob uploads: sessions, chunks, verification and commit (distribution's blobwriter).

Bytes land as S3 multipart parts at the key the blob will keep (commit in place, no copy).
Chunks shorter than the 5 MiB part minimum wait in a carry-over object. The SHA-256 state
is serialized into the session item, so a final `PUT ?digest=` verifies in O(1) whatever
the blob size, and nothing is committed before the digest checks out.
"""
from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

import rehashes

from chalicelib.clock import Clock
from chalicelib.oci import Code, Digest, OciError, RepoName
from chalicelib.store import keys
from chalicelib.store.ports import (
    BlobRecord,
    IncompleteObject,
    QuotaExceeded,
    RegistryUnknown,
    UploadConflict,
    UploadSession,
    UploadUnknown,
)

from . import gc

PART_MIN = 5 * 1024 * 1024
# Direct uploads above this use multipart part URLs (a single S3 PUT takes at most 5 GB).
DIRECT_SINGLE_MAX = 5 * 1000 ** 3
DIRECT_PART_SIZE = 64 * 1024 * 1024


def _hour(moment) -> int:
    return int(moment.timestamp()) // 3600


@dataclass(frozen=True)
class Mounted:
    digest: str


@dataclass(frozen=True)
class Committed:
    digest: str
    size: int


@dataclass(frozen=True)
class DirectTarget:
    """Where the client sends the bytes itself (pre-signed S3 requests)."""
    single_url: str | None
    headers: dict[str, str]
    part_urls: tuple[str, ...]
    part_size: int


class UploadService:
    def __init__(self, metadata, objects, registries, clock: Clock, settings):
        self._meta = metadata
        self._objects = objects
        self._registries = registries
        self._clock = clock
        self._settings = settings

    # ---- start ------------------------------------------------------------------------

    def start(self, name: RepoName, actor: str) -> UploadSession:
        session = self._new_session(name)
        self._meta.create_upload(session, actor)
        return session

    def _new_session(self, name: RepoName) -> UploadSession:
        self._registries.require(name.registry)
        expires_at = self._clock.now() + timedelta(seconds=self._settings.upload_ttl_s)
        upload_id = keys.new_upload_id(_hour(expires_at), uuid.uuid4().hex)
        return UploadSession(
            id=upload_id, registry=name.registry, repository=name.repository,
            key=keys.blob_data_key(name.registry, upload_id), offset=0,
            hash_state=rehashes.PySha256().serialize(), multipart_id=None, parts=(), carry_key=None,
            expires_at=expires_at)

    def mount(self, name: RepoName, digest: Digest | None, source: str, actor: str) -> Mounted | None:
        """Link a blob from another repository of the same registry; None when not mountable."""
        if digest is None:
            return None
        try:
            origin = RepoName.parse(source)
        except OciError:
            return None
        if origin.registry != name.registry:
            return None
        blob = self._meta.get_blob(origin.registry, origin.repository, str(digest))
        if blob is None:
            return None
        self._registries.require(name.registry)
        gc.mark(self._meta, self._clock, self._settings.gc_grace_s,
                [gc.link_mark(name.registry, name.repository, blob.digest)])
        try:
            if not self._meta.link_blob(name.registry, name.repository, blob, actor):
                return None  # collected meanwhile: the client uploads it instead
        except RegistryUnknown:
            self._registries.require(name.registry)  # NAME_UNKNOWN, saying why
            raise
        return Mounted(str(digest))

    # ---- chunks -----------------------------------------------------------------------

    def get(self, name: RepoName, upload_id: str) -> UploadSession:
        session = self._meta.get_upload(upload_id)
        if (session is None or session.registry != name.registry or session.repository != name.repository
                or session.expires_at <= self._clock.now()):
            raise OciError(Code.BLOB_UPLOAD_UNKNOWN, detail={"upload": upload_id})
        return session

    def append(self, name: RepoName, upload_id: str, data: bytes,
               content_range: tuple[int, int] | None) -> UploadSession:
        session = self.get(name, upload_id)
        if session.direct:
            raise OciError(Code.BLOB_UPLOAD_INVALID, message="this upload takes its bytes through pre-signed URLs")
        if content_range is not None:
            start, end = content_range
            if start != session.offset or end - start + 1 != len(data):
                raise OciError(Code.RANGE_INVALID, detail={"expected_start": session.offset},
                               message=f"chunk must start at offset {session.offset} and match its Content-Range")
        return self._absorb(session, data, final=False)

    def finish(self, name: RepoName, upload_id: str, digest: Digest, data: bytes, actor: str) -> Committed:
        session = self.get(name, upload_id)
        if session.direct:
            return self._finish_direct(session, digest, actor)
        if digest.algorithm != "sha256":
            raise OciError(Code.DIGEST_INVALID, message="uploads are verified with sha256 digests only")
        hasher = rehashes.PySha256.deserialize(session.hash_state)
        hasher.update(data)
        actual = f"sha256:{hasher.finalize()}"
        if actual != str(digest):
            self.cancel(name, upload_id)
            raise OciError(Code.DIGEST_INVALID, detail={"expected": str(digest), "actual": actual})
        try:
            session = self._absorb(session, data, final=True)
        except IncompleteObject as error:  # a part was overwritten by a racing request
            raise OciError(Code.BLOB_UPLOAD_INVALID, detail={"upload": upload_id},
                           message="the upload's parts are inconsistent; start the upload again") from error
        return self._commit(session, digest, session.offset, actor)

    def cancel(self, name: RepoName, upload_id: str) -> None:
        self._discard(self.get(name, upload_id))

    def sweep_expired(self, max_hours: int = 24 * 14) -> list[str]:
        """Abort sessions that expired (their multipart uploads and carry-over objects go too).
        Reads only the hour partitions that expired since the last sweep."""
        now_hour = _hour(self._clock.now())
        last = self._meta.swept_until()
        if last is None:  # no session was ever created
            last = now_hour - 1
        first = max(last + 1, now_hour - max_hours)
        swept = []
        for hour in range(first, now_hour):  # the current hour is not over yet
            for session in self._meta.expired_uploads(hour):
                try:
                    self._discard(session)
                except OciError:
                    continue  # committed or cancelled meanwhile
                swept.append(session.id)
            self._meta.mark_swept(hour)
        return swept

    def _discard(self, session: UploadSession) -> None:
        # Ending the session first decides the race with a commit: only the winner touches S3.
        if not self._meta.delete_upload(session.id):
            raise OciError(Code.BLOB_UPLOAD_UNKNOWN, detail={"upload": session.id})
        if session.multipart_id:
            self._objects.abort_multipart(session.key, session.multipart_id)
        if session.carry_key:
            self._objects.delete(session.carry_key)
        self._objects.delete(session.key)

    # ---- direct-to-storage ------------------------------------------------------------

    def start_direct(self, name: RepoName, digest: Digest, size: int, actor: str) -> tuple[UploadSession, DirectTarget]:
        if digest.algorithm != "sha256":
            raise OciError(Code.DIGEST_INVALID, message="direct uploads need a sha256 digest")
        if size < 0:
            raise OciError(Code.SIZE_INVALID, message="size must not be negative")
        session = replace(self._new_session(name), direct=True)
        # The URLs must outlive the slowest upload of the session, within SigV4's 7-day cap.
        ttl = min(self._settings.upload_ttl_s, 7 * 24 * 3600)
        if size <= DIRECT_SINGLE_MAX:
            sha_b64 = base64.b64encode(bytes.fromhex(digest.encoded)).decode()
            url, headers = self._objects.presign_put(session.key, ttl, size, sha_b64)
            target = DirectTarget(url, headers, (), 0)
        else:
            multipart_id = self._objects.start_multipart(session.key)
            session = replace(session, multipart_id=multipart_id)
            count = -(-size // DIRECT_PART_SIZE)
            urls = tuple(self._objects.presign_part(session.key, multipart_id, n, ttl) for n in range(1, count + 1))
            target = DirectTarget(None, {}, urls, DIRECT_PART_SIZE)
        self._meta.create_upload(session, actor)
        return session, target

    def _finish_direct(self, session: UploadSession, digest: Digest, actor: str) -> Committed:
        try:
            if session.multipart_id:
                parts = self._objects.list_parts(session.key, session.multipart_id)
                self._objects.complete_multipart(session.key, session.multipart_id, parts)
                completed = replace(session, multipart_id=None)  # a retried commit must not complete twice
                self._meta.advance_upload(session, completed)
                session = completed
            # moto (and S3 for multipart) does not check the digest: read the bytes back.
            hasher = rehashes.PySha256()
            size = 0
            for chunk in self._objects.read_chunks(session.key, 8 * 1024 * 1024):
                hasher.update(chunk)
                size += len(chunk)
        except IncompleteObject as error:
            raise OciError(Code.BLOB_UPLOAD_INVALID, detail={"upload": session.id},
                           message="the blob's bytes have not all been uploaded to storage yet") from error
        actual = f"sha256:{hasher.finalize()}"
        if actual != str(digest):
            self._discard(session)
            raise OciError(Code.DIGEST_INVALID, detail={"expected": str(digest), "actual": actual})
        return self._commit(session, digest, size, actor)

    # ---- internals --------------------------------------------------------------------

    def _absorb(self, session: UploadSession, data: bytes, final: bool) -> UploadSession:
        """Add bytes to the session: hash them, write whole parts, carry the rest over."""
        if not data and not final:
            return session
        pending = (self._objects.get(session.carry_key) or b"") if session.carry_key else b""
        pending += data
        multipart_id, parts, carry_key = session.multipart_id, session.parts, None
        if len(pending) >= PART_MIN or (final and multipart_id and pending):
            multipart_id = multipart_id or self._objects.start_multipart(session.key)
            number = len(parts) + 1
            parts = parts + ((number, self._objects.upload_part(session.key, multipart_id, number, pending)),)
        elif final:
            if multipart_id is None:
                self._objects.put(session.key, pending)
        elif pending:
            carry_key = keys.carry_key(session.id, session.offset + len(data), secrets.token_hex(4))
            self._objects.put(carry_key, pending)
        hash_state = session.hash_state
        if not final:
            hasher = rehashes.PySha256.deserialize(session.hash_state)
            hasher.update(data)
            hash_state = hasher.serialize()
        after = replace(session, offset=session.offset + len(data), hash_state=hash_state,
                        multipart_id=multipart_id, parts=parts, carry_key=carry_key)
        try:
            self._meta.advance_upload(session, after)
        except UploadConflict as error:
            raise OciError(Code.RANGE_INVALID, message="another request wrote to this upload first") from error
        if session.carry_key:
            self._objects.delete(session.carry_key)
        if final and multipart_id:
            self._objects.complete_multipart(session.key, multipart_id, parts)
        return after

    def _commit(self, session: UploadSession, digest: Digest, size: int, actor: str) -> Committed:
        blob = BlobRecord(str(digest), size, session.key)
        registry = self._registries.require(session.registry)
        # Marked first: if no manifest ever uses the blob, GC finds it after the grace period.
        gc.mark(self._meta, self._clock, self._settings.gc_grace_s,
                [gc.link_mark(session.registry, session.repository, blob.digest)])
        try:
            stored = self._meta.commit_blob(session.registry, session.repository, blob, session.id, actor,
                                            quota=registry.quota_bytes)
        except UploadUnknown as error:
            raise OciError(Code.BLOB_UPLOAD_UNKNOWN, detail={"upload": session.id},
                           message="the upload was cancelled or expired before it completed") from error
        except QuotaExceeded as error:
            self._discard(session)
            raise OciError(Code.DENIED, detail={"quota_bytes": error.quota, "stored_bytes": error.stored,
                                                "blob_bytes": error.size},
                           message=f"storage quota exceeded: {error}") from error
        except RegistryUnknown:
            self._discard(session)
            self._registries.require(session.registry)  # NAME_UNKNOWN, saying why
            raise
        if stored.key != session.key:  # another upload of the same bytes won: keep one copy
            self._objects.delete(session.key)
        return Committed(str(digest), stored.size)
