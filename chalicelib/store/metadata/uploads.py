"""Upload sessions (UPLOADS#<expiry hour>#<shard> / <upload id>, TTL) and the sweep's progress."""
from __future__ import annotations

from pynamodb.exceptions import PutError

from .. import keys
from ..dynamo import condition_failed, delete_if_exists, get_item
from ..models import SweepItem, UploadItem
from ..ports import UploadConflict, UploadSession

# DynamoDB's TTL deletes leftovers only well after the sweep had its chance to clean up S3.
_SWEEP_GRACE_S = 7 * 24 * 3600


class UploadItems:
    def create_upload(self, session: UploadSession, actor: str) -> None:
        self.start_sweeps_at("uploads", int(session.expires_at.timestamp()) // 3600)
        item = _upload_item(session)
        item.updated_by, item.updated_at = actor, self._clock.now()
        item.save(condition=UploadItem.pk.does_not_exist())

    def get_upload(self, upload_id: str) -> UploadSession | None:
        pk = keys.upload_pk(upload_id)
        item = pk and get_item(UploadItem, pk, upload_id, consistent=True)
        return _upload_session(item) if item else None

    def expired_uploads(self, expiry_hour: int) -> list[UploadSession]:
        """Sessions whose expiry falls in that hour (all shards)."""
        return [_upload_session(item) for shard in keys.UPLOAD_SHARDS
                for item in UploadItem.query(keys.uploads_pk(expiry_hour, shard))]

    def swept_until(self, what: str = "uploads") -> int | None:
        item = get_item(SweepItem, keys.SWEEP_PK, what)
        return int(item.hour) if item else None

    def mark_swept(self, hour: int, what: str = "uploads") -> None:
        SweepItem(keys.SWEEP_PK, what, hour=hour, updated_at=self._clock.now()).save()

    def start_sweeps_at(self, what: str, hour: int) -> None:
        """Before the first item a sweep will look for (an upload session, a GC mark) exists,
        record where sweeping starts, so the first sweep reads from there instead of a long
        stretch of empty hours. Once per process: later calls find it done."""
        started = getattr(self, "_sweeps_started", None)
        if started is None:
            started = self._sweeps_started = set()
        if what in started:
            return
        try:
            SweepItem(keys.SWEEP_PK, what, hour=hour - 1, updated_at=self._clock.now()).save(
                condition=SweepItem.pk.does_not_exist())
        except PutError as error:
            if not condition_failed(error):
                raise
        started.add(what)

    def advance_upload(self, before: UploadSession, after: UploadSession) -> None:
        """Write the new state only if nobody else moved the session since `before` was read."""
        try:
            _upload_item(after).save(condition=UploadItem.offset == before.offset)
        except PutError as error:
            if condition_failed(error):
                raise UploadConflict(before.id) from error
            raise

    def delete_upload(self, upload_id: str) -> bool:
        """True when this call ended the session (and so owns cleaning up its bytes)."""
        pk = keys.upload_pk(upload_id)
        return pk is not None and delete_if_exists(UploadItem(pk, upload_id))


def _upload_item(s: UploadSession) -> UploadItem:
    return UploadItem(keys.upload_pk(s.id), s.id, registry=s.registry, repository=s.repository,
                      key=s.key, offset=s.offset, hash_state=s.hash_state, multipart_id=s.multipart_id,
                      parts=[[n, etag] for n, etag in s.parts], carry_key=s.carry_key, expires_at=s.expires_at,
                      direct=s.direct,
                      ttl=int(s.expires_at.timestamp()) + _SWEEP_GRACE_S)


def _upload_session(item: UploadItem) -> UploadSession:
    return UploadSession(
        id=item.sk, registry=item.registry, repository=item.repository, key=item.key,
        offset=int(item.offset), hash_state=bytes(item.hash_state), multipart_id=item.multipart_id,
        parts=tuple((int(n), str(etag)) for n, etag in (item.parts or [])), carry_key=item.carry_key,
        expires_at=item.expires_at, direct=bool(item.direct))
