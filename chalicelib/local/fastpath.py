"""A short way through the embedded moto for the storage requests the registry makes most.

moto's server spends most of a DynamoDB call outside DynamoDB: it finds the service by
listing its own package directory (about 140 `stat` calls, under a global lock), routes
through Flask, rebuilds the request, and serializes the answer with a generic,
model-driven serializer that looks every member up through half a dozen alias providers.
A GetItem that takes 0.3 ms in the backend costs 3-4 ms of CPU that way.

`JsonFastPath` serves the JSON-protocol operations it knows (the DynamoDB item operations, the
stream reads and the SQS message calls) with moto's own response handlers, so the backend, its validation,
conditional writes, transactions, streams and errors are exactly moto's; it only replaces
the routing, the request set-up and, for successful answers, the serializer (a compiled
equivalent of moto's, which falls back to moto's own for anything it does not know). Every
other request takes moto's full path. tests/local/test_fastpath.py checks that both paths
give the same answers.
"""
from __future__ import annotations

import base64
import json
import threading
from enum import Enum
from typing import Any, Callable, Iterable
from urllib.parse import urlparse

# One JSON service per X-Amz-Target prefix: the moto handler class (module, name), the
# botocore service model, and the operations served here.
_SERVICES = {
    "DynamoDB_20120810": ("moto.dynamodb.responses", "DynamoHandler", "dynamodb", frozenset({
        "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "TransactWriteItems", "TransactGetItems",
        "BatchGetItem", "BatchWriteItem"})),
    "DynamoDBStreams_20120810": ("moto.dynamodbstreams.responses", "DynamoDBStreamsHandler", "dynamodbstreams",
                                 frozenset({"GetRecords", "DescribeStream", "GetShardIterator"})),
    "AmazonSQS": ("moto.sqs.responses", "SQSResponse", "sqs", frozenset({
        "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
        "ChangeMessageVisibility", "GetQueueUrl"})),
}
# What moto's Flask app adds to every answer (flask-cors).
_CORS = ("Access-Control-Allow-Origin", "*")
_MISSING = object()


class _Unsupported(Exception):
    """The compiled serializer met a value it does not handle the way moto's does."""


Response = tuple[int, list[tuple[str, str]], bytes]


class JsonFastPath:
    """WSGI-level handler for the operations in _SERVICES; None for any other request."""

    def __init__(self):
        self._services: dict[str, _Service] = {}

    def __call__(self, environ) -> Response | None:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO", "/") != "/":
            return None
        prefix, _, operation = (environ.get("HTTP_X_AMZ_TARGET") or "").partition(".")
        spec = _SERVICES.get(prefix)
        if spec is None or operation not in spec[3]:
            return None
        if environ.get("HTTP_CONTENT_ENCODING") or environ.get("QUERY_STRING"):
            return None  # moto decompresses or reads the query string: its own path
        length = environ.get("CONTENT_LENGTH") or ""
        if not length.isdigit():
            return None
        service = self._services.get(prefix)
        if service is None:
            service = self._services[prefix] = _Service(*spec[:3])
        body = environ["wsgi.input"].read(int(length)) if int(length) else b""
        return service.handle(environ, operation, body)


class _Service:
    def __init__(self, module: str, handler: str, model: str):
        import importlib

        from moto.core.utils import get_service_model

        self._handler_class = _fast_serializing(getattr(importlib.import_module(module), handler))
        self._model = get_service_model(model)
        self._operations: dict[str, tuple[Any, Any, Callable[[Any], Any]]] = {}

    def _operation(self, name: str):
        found = self._operations.get(name)
        if found is None:
            from moto.core.parse import PROTOCOL_PARSERS

            operation_model = self._model.operation_model(name)
            parser = PROTOCOL_PARSERS["json"](operation_model, map_type=self._handler_class.PROTOCOL_PARSER_MAP_TYPE)
            found = self._operations[name] = (operation_model, parser, compile_output(operation_model))
        return found

    def handle(self, environ, operation: str, body: bytes) -> Response:
        from moto.iam.models import mark_account_as_visited
        from moto.utilities.utils import get_partition
        from werkzeug.datastructures import EnvironHeaders

        operation_model, parser, serialize = self._operation(operation)
        handler = self._handler_class()
        # What BaseResponse.setup_class sets for a JSON POST (no form, no query string).
        headers = EnvironHeaders(environ)
        url = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}/"
        handler.is_werkzeug_request = True
        handler.normalized_request = None
        handler.parsed_url = urlparse(url)
        handler.raw_body = body
        handler.body = body if handler.use_raw_body else body.decode("utf-8")
        handler.form_data = {}
        handler.querystring = handler.data = {}
        handler.uri, handler.path, handler.raw_path, handler.method = url, "/", "/", "POST"
        handler.region = handler.get_region_from_url(_HeadersOnly(headers), url)
        handler.partition = get_partition(handler.region)
        handler.uri_match = {}
        handler.headers = headers
        handler.response_headers = {"server": "amazon.com"}
        handler.fast_serializer = serialize
        if handler.automated_parameter_parsing:
            handler.params = parser.parse({"method": "POST", "values": {}, "headers": headers, "body": body,
                                           "url_path": "/", "url_params": {}})
        handler.access_key = handler.get_access_key()
        handler.current_account = handler.get_current_account()
        mark_account_as_visited(account_id=handler.current_account, access_key=handler.access_key,
                                service=handler.service_name, region=handler.region)
        status, answer_headers, content = handler.call_action()
        return _as_flask_would(status, answer_headers, content)


class _HeadersOnly:
    """What BaseResponse.get_region_from_url reads of a request."""

    def __init__(self, headers):
        self.headers = headers


def _fast_serializing(handler_class):
    """A subclass of a moto handler whose successful ActionResults go through the compiled
    serializer (errors and anything it cannot do go through moto's)."""
    from moto.core.responses import ActionResult

    def serialized(self, action_result):
        result = action_result.result
        serialize = getattr(self, "fast_serializer", None)
        if (serialize is not None and type(action_result).execute_result is ActionResult.execute_result
                and not isinstance(result, Exception)
                and not getattr(self, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None)):
            try:
                body = serialize(result)
            except _Unsupported:
                body = None
            if body is not None:
                headers = {"Content-Type": _content_type(self.fast_serializer.operation_model)}
                headers.update(self.response_headers)
                return self.fast_serializer.status, headers, body
        return handler_class.serialized(self, action_result)

    return type(f"Fast{handler_class.__name__}", (handler_class,), {"serialized": serialized})


def _content_type(operation_model) -> str:
    version = operation_model.service_model.metadata.get("jsonVersion", "1.0")
    return f"application/x-amz-json-{version}"


def _as_flask_would(status, headers: dict, content) -> Response:
    """moto's answer as its Flask app writes it: the status may come as a header (and
    stays one), a missing Content-Type is Flask's default, flask-cors adds its header."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    out = [(str(k), str(v)) for k, v in headers.items()]
    names = {k.lower() for k, _ in out}
    if "content-type" not in names:
        out.append(("Content-Type", "text/html; charset=utf-8"))
    if "content-length" not in names:
        out.append(("Content-Length", str(len(content))))
    out.append(_CORS)
    return int(status), out, content


# ---- the compiled serializer ---------------------------------------------------------------

def compile_output(operation_model) -> Callable[[Any], str | None]:
    """A function turning an operation's result (plain dicts and lists, as moto's DynamoDB
    responses build them) into the JSON body moto's JSONSerializer would write. It raises
    _Unsupported when it meets anything else (objects read through attribute aliases,
    unknown keys that an alias could pick, values moto would reject)."""
    from moto import settings
    from moto.core.serialize import TimestampSerializer

    shape = operation_model.output_shape
    timestamps = TimestampSerializer("unixtimestamp")
    writers: dict[str, Callable[[Any], Any]] = {}
    write = _writer(shape, writers, timestamps) if shape is not None else None

    def serialize(result):
        if settings.PRETTIFY_RESPONSES:
            raise _Unsupported("pretty-printed responses")
        if write is None:
            return json.dumps({})
        value = write(result)
        return json.dumps({} if value is _MISSING else value)

    serialize.operation_model = operation_model
    serialize.status = operation_model.http.get("responseCode", 200)
    return serialize


def _writer(shape, writers: dict, timestamps) -> Callable[[Any], Any]:
    """The writer of one shape; recursive shapes (AttributeValue) share one entry."""
    key = shape.name
    if key in writers:
        known = writers[key]
        return known if known is not None else (lambda value: writers[key](value))
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            writer = _identity
        else:
            writers[key] = None  # placeholder for recursion
            members = [(name, member.serialization.get("name", name), _writer(member, writers, timestamps))
                       for name, member in shape.members.items()]
            writer = _structure(members, frozenset(shape.members), _aliases_among_members(shape))
    elif kind == "list":
        writers[key] = None
        writer = _list(_writer(shape.member, writers, timestamps))
    elif kind == "map":
        writers[key] = None
        writer = _map(_writer(shape.value, writers, timestamps))
    elif kind == "string":
        writer = _string
    elif kind in ("integer", "long"):
        writer = int
    elif kind in ("float", "double"):
        writer = float
    elif kind == "blob":
        writer = _blob
    elif kind == "timestamp":
        writer = _timestamp(shape, timestamps)
    else:  # boolean and anything moto writes as it is
        writer = _identity
    writers[key] = writer
    return writer


def _identity(value):
    return value


def _aliases_among_members(shape) -> frozenset[str]:
    """Member names that moto's attribute picker could also try for another member: a
    member's shape name (ShapeNameAlias), the rest of a name that starts with the class name
    of a dict (ClassPrefixAlias). A result holding one of them is left to moto."""
    aliases = set()
    for name, member in shape.members.items():
        if member.type_name in ("list", "structure") and member.name != name and member.name in shape.members:
            aliases.add(member.name)
        if name.lower().startswith("dict"):
            aliases.add(name[len("dict"):])
    return frozenset(aliases)


def _structure(members: list[tuple[str, str, Callable]], names: frozenset[str], aliases: frozenset[str]):
    def write(value):
        if value is None:
            return _MISSING
        if not isinstance(value, dict) or not names.issuperset(value) or (aliases and not aliases.isdisjoint(value)):
            # moto reads objects and other keys through aliases: leave those to it.
            raise _Unsupported("not a plain result")
        out = {}
        for name, serialized_name, member in members:
            item = value.get(name)
            if item is not None:
                written = member(item)
                if written is not _MISSING:
                    out[serialized_name] = written
        return out
    return write


def _list(member: Callable):
    def write(value):
        if not isinstance(value, (list, tuple)):
            raise _Unsupported("not a list")
        out = []
        for item in value:
            written = member(item)
            out.append(item if written is _MISSING else written)
        return out
    return write


def _map(member: Callable):
    def write(value):
        if not isinstance(value, dict):
            raise _Unsupported("not a map")
        out = {}
        for key, item in value.items():
            written = member(item)
            if written is not _MISSING:
                out[key] = written
        return out
    return write


def _string(value):
    if isinstance(value, Enum):
        value = value.value
    if value is None or value == {} or value == []:
        return value
    return str(value)


def _blob(value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, (bytes, bytearray)):
        raise _Unsupported("not bytes")
    return base64.b64encode(value).strip().decode("utf-8")


def _timestamp(shape, timestamps):
    def write(value):
        wrapper: dict = {}
        timestamps.serialize(wrapper, value, shape, "timestamp")
        return wrapper["timestamp"]
    return write


# ---- moto's per-request lookups -----------------------------------------------------------

def cache_lookups() -> None:
    """Two things moto works out again for every request, though they cannot change while
    the process runs: whether the host names one of its service packages (it lists and stats
    its package directory, about 140 calls, under a global lock), and the method names of the
    response handler class (inspect.getmembers). Work them out once."""
    import functools

    from moto import backends
    from moto.core import responses

    if getattr(backends.list_of_moto_modules, "_moorage_cached", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> Iterable[str]:
        return iter(modules)

    list_of_moto_modules._moorage_cached = True
    backends.list_of_moto_modules = list_of_moto_modules
    responses.method_names_from_class = functools.cache(responses.method_names_from_class)


# ---- moto's SQS with a backlog ----------------------------------------------------------

_uncounted = threading.local()


def sqs_without_quadratic_costs() -> None:
    """moto's SQS does work proportional to the queue's length for every message: sending one
    computes all queue attributes, the three message counts included, only to read
    ContentBasedDeduplication; and each visibility check derives the time through several
    datetime objects (about 10 µs, twice per message per scan). When consumers fall behind
    (a burst of pulls, each an event for three consumers) that turns quadratic and the
    storage process spends seconds per batch. Sends skip the counts (nothing in them reads
    the counts) and visibility checks read the same clock directly."""
    import time

    from moto.sqs.models import Message, Queue, SQSBackend

    if getattr(SQSBackend, "_moorage_uncounted", False):
        return
    for name in ("approximate_number_of_messages", "approximate_number_of_messages_delayed",
                 "approximate_number_of_messages_not_visible"):
        count = getattr(Queue, name).fget
        setattr(Queue, name, property(lambda queue, count=count: 0 if getattr(_uncounted, "on", False)
                                      else count(queue)))

    def uncounted(send):
        def wrapper(self, *args, **kwargs):
            before, _uncounted.on = getattr(_uncounted, "on", False), True
            try:
                return send(self, *args, **kwargs)
            finally:
                _uncounted.on = before
        return wrapper

    SQSBackend.send_message = uncounted(SQSBackend.send_message)
    SQSBackend.send_message_batch = uncounted(SQSBackend.send_message_batch)
    # moto's unix_time_millis(): milliseconds since the epoch from datetime.now(UTC).
    Message.visible = property(lambda message: time.time() * 1000.0 > message.visible_at)
    Message.delayed = property(lambda message: time.time() * 1000.0 < message.delayed_until)
    SQSBackend._moorage_uncounted = True
