"""Embedded AWS for the local runtime: moto's S3, DynamoDB (with streams) and SQS served on a
loopback port, in a child process, with state kept under the data directory.

moto keeps no state across restarts, so this process snapshots its backends with pickle:
periodically while there were writes, and on SIGINT/SIGTERM. Object bytes go to one file per
object under objects/ (written once, reused by later snapshots) so a snapshot never holds
a blob in memory. A hard kill loses what changed since the last snapshot.

Run: python -m chalicelib.local.storage --port P --data-dir D
"""
from __future__ import annotations

import argparse
import logging
import os
import pickle
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

SNAPSHOT_FILE = "moto-state.pickle"
SNAPSHOT_INTERVAL_S = 10.0
# A snapshot waits for a lull in writes (it blocks requests while it runs), unless
# changes have been waiting for longer than this.
SNAPSHOT_QUIET_S = 2.0
SNAPSHOT_MAX_DELAY_S = 60.0
_BACKENDS = ("s3", "dynamodb", "dynamodbstreams", "sqs", "secretsmanager")


class _ReadWriteLock:
    """Requests share the lock; a snapshot takes it alone so backends do not change under it."""

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    def acquire_shared(self):
        with self._cond:
            while self._writing:
                self._cond.wait()
            self._readers += 1

    def release_shared(self):
        with self._cond:
            self._readers -= 1
            self._cond.notify_all()

    def acquire_exclusive(self):
        with self._cond:
            while self._writing:
                self._cond.wait()
            self._writing = True
            while self._readers:
                self._cond.wait()

    def release_exclusive(self):
        with self._cond:
            self._writing = False
            self._cond.notify_all()


def _file_backed_keys(objects_dir: Path) -> None:
    """Make moto's S3 keys pickle their bytes to files under objects_dir, streaming."""
    from moto.s3.models import FakeKey

    objects_dir.mkdir(parents=True, exist_ok=True)

    def getstate(self):
        state = self.__dict__.copy()
        state["_moorage_file"] = _object_file(self, objects_dir)
        state.pop("_value_buffer", None)
        state.pop("lock", None)
        return state

    def setstate(self, state):
        self.__dict__.update(state)
        self._value_buffer = tempfile.SpooledTemporaryFile(max_size=self._max_buffer_size)
        if state["_moorage_file"]:
            with open(state["_moorage_file"], "rb") as source:
                shutil.copyfileobj(source, self._value_buffer, 1024 * 1024)
        self.lock = threading.Lock()

    FakeKey.__getstate__ = getstate
    FakeKey.__setstate__ = setstate


def _object_file(key, objects_dir: Path) -> str | None:
    """The file under objects_dir that holds the key's bytes, written the first time."""
    path = getattr(key, "_moorage_file", None)
    if not path or not os.path.exists(path):
        path = str(objects_dir / uuid.uuid4().hex)
        try:
            with key.lock, open(path, "wb") as out:
                key._value_buffer.seek(0)
                shutil.copyfileobj(key._value_buffer, out, 1024 * 1024)
        except ValueError:  # moto closed the buffer of a deleted key that is still referenced
            os.unlink(path)
            path = None
        key._moorage_file = path
    return path


class _JoinedParts:
    """The buffer of an object made by a completed multipart upload: its parts' buffers (files
    above moto's 5 MiB threshold), read one after another, as S3 joins parts without copying
    them. Offers what moto and the snapshots use of a key's buffer; writing to it (moto's
    value setter) first turns it into an ordinary buffer."""

    def __init__(self, buffers: list, sizes: list[int], max_size: int):
        self._buffers, self._sizes, self._max_size = buffers, sizes, max_size
        self._pos = 0
        self._own = None  # a plain buffer, once written to

    def seek(self, offset: int, whence: int = 0) -> int:
        if self._own is not None:
            return self._own.seek(offset, whence)
        base = {0: 0, 1: self._pos, 2: sum(self._sizes)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._own.tell() if self._own is not None else self._pos

    def read(self, size: int = -1) -> bytes:
        if self._own is not None:
            return self._own.read(size)
        chunks, wanted, start = [], size if size is not None and size >= 0 else None, 0
        for buffer, length in zip(self._buffers, self._sizes):
            if wanted == 0:
                break
            if self._pos < start + length:
                buffer.seek(self._pos - start)
                chunk = buffer.read(min(wanted, start + length - self._pos) if wanted is not None
                                    else start + length - self._pos)
                chunks.append(chunk)
                self._pos += len(chunk)
                if wanted is not None:
                    wanted -= len(chunk)
            start += length
        return b"".join(chunks)

    def truncate(self, size: int | None = None) -> int:
        self._materialize()
        return self._own.truncate(size)

    def write(self, data) -> int:
        self._materialize()
        return self._own.write(data)

    def close(self) -> None:
        if self._own is not None:
            self._own.close()
        for buffer in self._buffers:
            buffer.close()
        self._buffers, self._sizes = [], []

    @property
    def closed(self) -> bool:
        return self._own.closed if self._own is not None else not self._buffers and not self._sizes

    def _materialize(self) -> None:
        if self._own is None:
            own = tempfile.SpooledTemporaryFile(max_size=self._max_size)
            position, self._pos = self._pos, 0
            shutil.copyfileobj(self, own, 1024 * 1024)
            own.seek(position)
            for buffer in self._buffers:
                buffer.close()
            self._own = own


def _streaming_multipart_complete() -> None:
    """moto joins all parts of a completing multipart upload in memory (about three copies of
    the object); S3 does not. The new object reads its parts' buffers in turn (_JoinedParts)
    instead, so a multi-GB push keeps the storage process's memory flat and copies nothing."""
    from moto.s3 import models
    from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML

    def complete_multipart_upload(self, bucket_name, multipart_id, body):
        bucket = self.get_bucket(bucket_name)
        multipart = bucket.multiparts[multipart_id]
        parts, md5s = [], bytearray()
        for number, etag in body:
            part = multipart.parts.get(number)
            if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
                raise InvalidPart()
            if parts and parts[-1].contentsize < models.S3_UPLOAD_PART_MIN_SIZE:
                raise EntityTooSmall()
            md5s.extend(bytes.fromhex(part.etag.replace('"', "")))
            parts.append(part)
        if not parts:
            raise MalformedXML()
        if len({id(part) for part in parts}) == len(parts):
            buffers = []
            for part in parts:  # the object takes each part's bytes; disposing of the part closes an empty buffer
                with part.lock:
                    buffers.append(part._value_buffer)
                    part._value_buffer = tempfile.SpooledTemporaryFile(max_size=part._max_buffer_size)
            joined = _JoinedParts(buffers, [part.contentsize for part in parts], parts[0]._max_buffer_size)
        else:  # a part listed twice: copy
            joined = tempfile.SpooledTemporaryFile(max_size=parts[0]._max_buffer_size)
            for part in parts:
                with part.lock:
                    part._value_buffer.seek(0)
                    shutil.copyfileobj(part._value_buffer, joined, 1024 * 1024)
        del bucket.multiparts[multipart_id]  # disposes of the parts
        etag = f"{models.md5_hash(bytes(md5s)).hexdigest()}-{len(parts)}"
        key = self.put_object(bucket_name, multipart.key_name, b"", storage=multipart.storage, etag=etag,
                              multipart=multipart, encryption=multipart.sse_encryption,
                              kms_key_id=multipart.kms_key_id)
        with key.lock:
            key._value_buffer.close()
            key._value_buffer = joined
            key.contentsize = sum(part.contentsize for part in parts)
        key.set_metadata(multipart.metadata)
        return key

    models.S3Backend.complete_multipart_upload = complete_multipart_upload


def atomic_dynamodb_writes() -> None:
    """DynamoDB applies a conditional write or a transaction atomically; moto checks the
    condition and then writes, so two threads can both pass. Serialize writes as DynamoDB
    would (the registry's races, e.g. two uploads of one blob, depend on it)."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_moorage_atomic", False):
        return
    lock = threading.RLock()

    def serialized(method):
        def locked(self, *args, **kwargs):
            with lock:
                return method(self, *args, **kwargs)
        return locked

    for name in ("put_item", "update_item", "delete_item", "batch_write_item"):
        setattr(DynamoDBBackend, name, serialized(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.transact_write_items = serialized(_undo_log_transactions(DynamoDBBackend.transact_write_items))
    DynamoDBBackend._moorage_atomic = True


def _undo_log_transactions(transact_write_items):
    """moto backs up every table a transaction touches with a deep copy, so each transaction
    costs as much as the whole table: local pushes slow down as data grows. Keep copies of
    only the items the transaction names (and the stream's length), and restore those."""
    import copy

    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models import table as table_module
    import moto.dynamodb.models as dynamodb_models

    real_copy = copy

    class _NoTableCopies:  # stands in for the `copy` module inside moto's dynamodb models
        @staticmethod
        def deepcopy(value, *args):
            return value if isinstance(value, table_module.Table) else real_copy.deepcopy(value, *args)

        def __getattr__(self, name):
            return getattr(real_copy, name)

    dynamodb_models.copy = _NoTableCopies()

    def key_of(table, op):
        attrs = op.get("Key") or op.get("Item") or {}
        hash_key = attrs.get(table.hash_key_attr)
        range_key = attrs.get(table.range_key_attr) if table.has_range_key else None
        if hash_key is None or (table.has_range_key and range_key is None):
            return None
        return (dynamo_type.DynamoType(hash_key),
                dynamo_type.DynamoType(range_key) if range_key is not None else None)

    def restore(table, key, item):
        hash_key, range_key = key
        if table.has_range_key:
            if item is None:
                table.items.get(hash_key, {}).pop(range_key, None)
            else:
                table.items[hash_key][range_key] = item
        elif item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item

    def with_undo_log(self, transact_items):
        undo = []
        streams = {}
        for entry in transact_items:
            op = next(iter(entry.values()), {}) if isinstance(entry, dict) else {}
            table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            key = key_of(table, op) if table is not None else None
            if key is None:
                continue
            undo.append((table, key, real_copy.deepcopy(table.get_item(*key))))
            shard = getattr(table, "stream_shard", None)
            if shard is not None:
                streams.setdefault(id(shard), (shard, len(shard.items)))
        try:
            return transact_write_items(self, transact_items)
        except Exception:
            for table, key, item in reversed(undo):
                restore(table, key, item)
            for shard, length in streams.values():
                del shard.items[length:]
            raise

    return with_undo_log


def _picklable_queues() -> None:
    """moto's SQS queues hold a threading.Condition (for long polls), which pickle refuses:
    snapshot them without it and give each restored queue a new one."""
    import threading

    from moto.sqs.models import Queue

    def getstate(queue):
        return {k: v for k, v in queue.__dict__.items() if k != "_messages_lock"}

    def setstate(queue, state):
        queue.__dict__.update(state)
        queue._messages_lock = threading.Condition()

    Queue.__getstate__, Queue.__setstate__ = getstate, setstate


def _backend_dicts():
    from moto.backends import get_backend
    return {name: get_backend(name) for name in _BACKENDS}


class Snapshots:
    def __init__(self, data_dir: Path, lock: _ReadWriteLock):
        self._file = data_dir / SNAPSHOT_FILE
        self._objects = data_dir / "objects"
        self._lock = lock
        self.dirty = False
        self.dirty_since = 0.0
        self.last_write = 0.0
        _file_backed_keys(self._objects)
        _streaming_multipart_complete()
        _picklable_queues()
        atomic_dynamodb_writes()

    def load(self) -> None:
        if not self._file.exists():
            return
        with open(self._file, "rb") as source:
            saved = pickle.load(source)
        for name, backend_dict in _backend_dicts().items():
            for account, regions in saved.get(name, {}).items():
                for region, backend in regions.items():
                    backend_dict[account][region] = backend  # noqa: per-account/region backend

    def save(self) -> None:
        self._write_object_files()
        self._lock.acquire_exclusive()
        try:
            state = {}
            for name, backend_dict in _backend_dicts().items():
                state[name] = {account: dict(regions.items()) for account, regions in backend_dict.items()}
            tmp = self._file.with_suffix(".tmp")
            with open(tmp, "wb") as out:
                pickle.dump(state, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._file)
            self.dirty = False
            self._prune(state)
        finally:
            self._lock.release_exclusive()

    def _write_object_files(self) -> None:
        """Copy new objects' bytes to their files before the snapshot stops every request: a
        big object takes seconds to copy, pickling state that names its file does not. (An
        object's bytes never change: a new value is a new key.)"""
        for key in _s3_keys():
            _object_file(key, self._objects)

    def _prune(self, state) -> None:
        """Delete object files no key refers to any more (deleted or overwritten objects)."""
        from moto.s3.models import FakeKey
        live = set()
        for regions in state.get("s3", {}).values():
            for backend in regions.values():
                for bucket in backend.buckets.values():
                    for key in bucket.keys.values():
                        if isinstance(key, FakeKey) and getattr(key, "_moorage_file", None):
                            live.add(os.path.basename(key._moorage_file))
        for path in self._objects.iterdir():
            if path.name not in live:
                path.unlink(missing_ok=True)


def _s3_keys() -> list:
    """Every object key moto holds now (requests may be changing the buckets meanwhile)."""
    from moto.s3.models import FakeKey

    for _ in range(5):
        try:
            return [key for regions in list(_backend_dicts()["s3"].values()) for backend in list(regions.values())
                    for bucket in list(backend.buckets.values()) for key in list(bucket.keys.values())
                    if isinstance(key, FakeKey)]
        except RuntimeError:  # changed while we looked: look again
            continue
    return []


def _snapshot_due(snapshots: Snapshots, last_save: float) -> bool:
    now = time.monotonic()
    if now - last_save < SNAPSHOT_INTERVAL_S:
        return False
    return now - snapshots.last_write >= SNAPSHOT_QUIET_S or now - snapshots.dirty_since >= SNAPSHOT_MAX_DELAY_S


_RESPONSE_PIECE = 1024 * 1024


def _in_pieces(body):
    """moto answers an object GET with one bytes value; handing a server a 256 MiB chunk
    makes its buffered writer copy the rest at every send. Give it 1 MiB at a time."""
    for chunk in body:
        if len(chunk) <= _RESPONSE_PIECE:
            yield chunk
            continue
        view = memoryview(chunk)
        for start in range(0, len(view), _RESPONSE_PIECE):
            yield view[start:start + _RESPONSE_PIECE].tobytes()


def _etag_as_written() -> None:
    """moto computes an object's ETag (its MD5) on first use by reading the whole object
    back from its buffer (a temporary file above 8 MiB); compute it from the bytes as they
    are stored instead. Keys given an ETag (multipart results) keep theirs."""
    from moto.s3.models import DEFAULT_TEXT_ENCODING, FakeKey, md5_hash

    store = FakeKey.value.fset
    if getattr(store, "_moorage_etag", False):
        return

    def value(self, new_value) -> None:
        store(self, new_value)
        if self._etag is None:  # the bytes moto just wrote
            data = new_value.encode(DEFAULT_TEXT_ENCODING) if isinstance(new_value, str) else new_value
            self._etag = md5_hash(data).hexdigest()

    value._moorage_etag = True
    FakeKey.value = FakeKey.value.setter(value)


_streamed = threading.local()


class _ObjectStream:
    """An object's bytes as moto's GetObject answers them, read from its buffer a piece at a
    time while the server sends them (moto reads the whole object into memory first)."""

    def __init__(self, key):
        self._key = key

    def __iter__(self):
        position = 0
        while True:
            with self._key.lock:  # other readers and the snapshots move the same buffer
                self._key._value_buffer.seek(position)
                chunk = self._key._value_buffer.read(_RESPONSE_PIECE)
            if not chunk:
                return
            position += len(chunk)
            yield chunk


def _streamed_object_reads() -> None:
    """A plain GetObject (no Range, no part number) that the server serves answers with an
    _ObjectStream of the key instead of its value; everything else about the answer is moto's."""
    from moto.s3.models import FakeKey
    from moto.s3.responses import S3Response

    if getattr(S3Response.get_object, "_moorage_streamed", False):
        return
    value = FakeKey.value
    FakeKey.value = property(lambda key: _ObjectStream(key) if getattr(_streamed, "on", False) else value.fget(key),
                             value.fset)
    whole = S3Response.get_object

    def get_object(self):
        if (not getattr(_streamed, "serving", False)  # in-process moto (tests) wants bytes
                or self.headers.get("Range") or self.querystring.get("partNumber")):
            return whole(self)
        _streamed.on = True  # GetObject reads `key.value` only to answer with it
        try:
            return whole(self)
        finally:
            _streamed.on = False

    get_object._moorage_streamed = True
    S3Response.get_object = get_object


# JSON-protocol calls that change nothing worth a snapshot. Receiving SQS messages changes
# only their visibility and receive counts: lost in a crash, a message is delivered once more,
# which consumers are built for. Counting these as writes, the event runner's polls (several a
# second) left no lull for a snapshot, so snapshots waited for SNAPSHOT_MAX_DELAY_S and then
# stopped whatever was running.
_READS = frozenset({
    "GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "DescribeTable", "ListTables",
    "DescribeTimeToLive", "ListTagsOfResource", "DescribeStream", "ListStreams", "GetShardIterator", "GetRecords",
    "GetQueueUrl", "GetQueueAttributes", "ListQueues", "ReceiveMessage", "GetSecretValue", "DescribeSecret",
    "ListSecrets"})


def _writes(environ) -> bool:
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
        return False
    return (environ.get("HTTP_X_AMZ_TARGET") or "").rpartition(".")[2] not in _READS


def _guarded(app, lock: _ReadWriteLock, snapshots: Snapshots, fast=None):
    from werkzeug.http import HTTP_STATUS_CODES

    def wsgi(environ, start_response):
        lock.acquire_shared()
        try:
            if _writes(environ):
                snapshots.last_write = time.monotonic()
                if not snapshots.dirty:
                    snapshots.dirty, snapshots.dirty_since = True, snapshots.last_write
            answer = fast(environ) if fast is not None else None
            if answer is not None:
                status, headers, body = answer
                start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN')}", headers)
                return [body]
            _streamed.serving = True
            return _in_pieces(app(environ, start_response))
        finally:
            _streamed.serving = False
            lock.release_shared()
    return wsgi


def storage_app(snapshots: Snapshots, lock: _ReadWriteLock, fast: bool = True):
    """moto's server app behind the snapshot lock, with the fast path in front (fastpath.py)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from .fastpath import JsonFastPath, cache_lookups, sqs_without_quadratic_costs

    cache_lookups()
    sqs_without_quadratic_costs()
    _etag_as_written()
    _streamed_object_reads()
    return _guarded(DomainDispatcherApplication(create_backend_app), lock, snapshots,
                    JsonFastPath() if fast else None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    from .serve import release_big_buffers_to_the_os

    release_big_buffers_to_the_os(arenas=2)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per storage request

    from cheroot import wsgi

    lock = _ReadWriteLock()
    snapshots = Snapshots(args.data_dir, lock)
    snapshots.load()
    app = storage_app(snapshots, lock, fast=os.environ.get("MOORAGE_STORAGE_FAST_PATH", "1") != "0")
    # cheroot keeps connections alive and reuses threads (werkzeug's development server
    # closes every connection and starts a thread per request).
    server = wsgi.Server((args.host, args.port), app, numthreads=16, request_queue_size=128,
                         server_name="moorage-storage")
    server.max_request_body_size = 0
    # cheroot keeps only 10 idle keep-alive connections by default and answers the rest with
    # `Connection: close`; the function holds more than that in its connection pools (one per
    # PynamoDB model and boto3 client), so most calls would open a new connection.
    server.keep_alive_conn_limit = None
    stopping = threading.Event()

    def stop(signum, frame):
        stopping.set()
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    parent = os.getppid()

    def snapshot_loop():
        last = time.monotonic()
        while not stopping.wait(1.0):
            if os.getppid() != parent:  # `moorage serve` died without telling us: save and go
                stop(None, None)
            elif snapshots.dirty and _snapshot_due(snapshots, last):
                snapshots.save()
                last = time.monotonic()

    threading.Thread(target=snapshot_loop, daemon=True).start()
    server.prepare()
    print(f"storage ready on {args.host}:{args.port}", flush=True)
    server.serve()
    snapshots.save()
    print("storage saved", file=sys.stderr, flush=True)
    # Everything is on disk: skip tearing down moto's object graph (seconds of garbage collection).
    os._exit(0)


if __name__ == "__main__":
    main()
