"""HTTP for `moorage push` and `moorage pull`: one session shared by the worker threads,
errors turned into CliError, files streamed out as request bodies, and the worker pool
that stops every transfer when one fails."""
from __future__ import annotations

import re
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import IO, Iterator
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from .api import CliError, error_message
from .auth import LoginError, auth_for
from .layout import CHUNK

TIMEOUT = (10, 300)  # connect, read (s)
_S3_CODE = re.compile(r"<Code>([^<]*)</Code>")
_S3_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")


class Cancelled(Exception):
    """Another transfer failed or the user interrupted: stop this one."""


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        kwargs.setdefault("blocksize", CHUNK)  # send request bodies in 1 MiB reads, not 16 KiB
        super().init_poolmanager(*args, **kwargs)


class Transport:
    """One requests Session shared by the worker threads, with a pool sized to them."""

    def __init__(self, url: str, jobs: int):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        adapter = _Adapter(pool_connections=4, pool_maxsize=max(jobs, 1) + 2)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        self.http.headers["User-Agent"] = "moorage-cli"
        self.http.auth = self.auth = auth_for(self.url)
        self.stop = threading.Event()

    def login(self, scope: str, key: str) -> None:
        try:
            self.auth.authorize(scope, key=key)
        except LoginError as error:
            raise CliError(f"login failed: {error} (run `moorage login`)") from error
        except requests.ConnectionError as error:
            raise CliError(f"cannot reach {self.url}: is the registry running?") from error

    def absolute(self, location: str) -> str:
        return urljoin(self.url + "/", location)

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        if self.stop.is_set():
            raise Cancelled()
        target = url if "://" in url else self.url + url
        try:
            return self.http.request(method, target, timeout=TIMEOUT, **kwargs)
        except requests.ConnectionError as error:
            if self.stop.is_set():
                raise Cancelled() from error
            host = urlsplit(target).netloc
            if target.startswith(self.url):
                raise CliError(f"cannot reach {self.url}: is the registry running?") from error
            raise CliError(f"cannot reach storage at {host}: {reason(error)}") from error
        except LoginError as error:
            raise CliError(f"login failed: {error} (run `moorage login`)") from error
        except requests.Timeout as error:
            raise CliError(f"{method} {urlsplit(target).netloc}: timed out") from error
        except requests.RequestException as error:
            raise CliError(f"{method} {urlsplit(target).netloc}: {reason(error)}") from error


def reason(error: Exception) -> str:
    text = str(error.args[0] if error.args else error)
    return text[:300]


def error_text(response: requests.Response) -> str:
    """The registry's error body, or S3's XML error, or the status."""
    if "xml" in response.headers.get("Content-Type", "") or response.text.lstrip().startswith("<"):
        code, message = _S3_CODE.search(response.text), _S3_MESSAGE.search(response.text)
        if code:
            return f"{message.group(1) if message else 'storage error'} ({code.group(1)})"
    if not response.content:
        return f"HTTP {response.status_code}"
    return error_message(response)


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class Reader:
    """A file (or a range of it) as a request body: read in pieces, hashed and counted on the
    way out. No tell/seek, so nothing rewinds it and hashes twice."""

    def __init__(self, source: IO[bytes], length: int, hasher, tick, stop: threading.Event):
        self._source, self._left, self._hasher, self._tick, self._stop = source, length, hasher, tick, stop
        self._length = length

    def __len__(self) -> int:
        return self._length

    def read(self, n: int = -1) -> bytes:
        if self._stop.is_set():
            raise Cancelled()
        if n is None or n < 0 or n > self._left:
            n = self._left
        data = self._source.read(min(n, CHUNK * 8)) if n else b""
        if n and not data:
            raise CliError(f"{getattr(self._source, 'name', 'file')}: file is shorter than its descriptor says")
        self._left -= len(data)
        self._hasher.update(data)
        self._tick(len(data))
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk


def run_all(transport: Transport, jobs: int, work, items) -> None:
    """Run work(item) for every item on `jobs` threads; on the first failure stop the rest
    and raise it."""
    if not items:
        return
    with ThreadPoolExecutor(max(1, jobs), thread_name_prefix="moorage-transfer") as pool:
        futures = [pool.submit(work, item) for item in items]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
            errors = [f.exception() for f in futures if f.done() and not f.cancelled() and f.exception()]
            if errors:
                raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
        except BaseException:  # a failure, or Ctrl-C while waiting: stop the rest
            transport.stop.set()
            for future in futures:
                future.cancel()
            raise
