"""Small helpers for the HTTP-level tests: requests against the gateway, spec-shaped
error assertions, raw requests whose path nothing normalises, state snapshots."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
import uuid
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urljoin, urlsplit

import requests

from chalicelib.local.serve import LOCAL_PIECE_BYTES
from tests.support.images import Blob, Image, Index, build_image
from tests.support.v2 import V2Client

OCTET = {"Content-Type": "application/octet-stream"}
MIB = 1024 * 1024
# The biggest body `moorage serve` hands the function in one event; bodies above it are split
# by the gateway into PATCHes of the upload session.
GATEWAY_PIECE = int(os.environ.get("MOORAGE_MAX_REQUEST_BODY", LOCAL_PIECE_BYTES))
TIMEOUT = 60
LOOPBACK = "127.0.0.1"


def unique_repo(label: str) -> str:
    """A repository name of the `library` registry that no other test uses."""
    stem = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:40].strip("-")
    return f"library/{stem or 't'}-{uuid.uuid4().hex[:8]}"


def variant(image: Image, label: str) -> Blob:
    """Another manifest over the same blobs (an annotation makes the difference)."""
    doc = json.loads(image.manifest.data)
    doc["annotations"] = {"org.example.variant": label}
    return Blob.of(image.manifest.media_type, json.dumps(doc, separators=(",", ":")).encode())


def artifact(image: Image, artifact_type: str | None, subject: Any = None,
             annotations: dict[str, str] | None = None, config_media_type: str | None = None) -> Image:
    """An artifact manifest (artifactType, subject, annotations) whose config and layer are
    the bytes of `image`'s, so pushing it needs no upload when those blobs can be mounted."""
    return build_image([image.layers[0].data], artifact_type=artifact_type, subject=subject,
                       annotations=annotations, config_data=image.config.data,
                       config_media_type=config_media_type or image.config.media_type,
                       layer_media_type=image.layers[0].media_type)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def assert_error(response: Any, status: int, *codes: str) -> dict:
    """The status, and (except for HEAD) the spec's body: {"errors": [{"code", "message", ...}]}
    whose first code is one of `codes` (any code when none is given)."""
    method, got_status, headers, body = _parts(response)
    assert got_status == status, f"{method} -> {got_status}, expected {status}: {body[:500]!r}"
    if method == "HEAD":
        assert body == b""
        return {}
    assert headers.get("content-type", "").split(";")[0].strip() == "application/json", headers
    doc = json.loads(body)
    assert isinstance(doc, dict) and isinstance(doc.get("errors"), list) and doc["errors"], doc
    for entry in doc["errors"]:
        assert isinstance(entry, dict), doc
        assert isinstance(entry.get("code"), str) and entry["code"], doc
        assert isinstance(entry.get("message"), str) and entry["message"], doc
        assert set(entry) <= {"code", "message", "detail"}, doc
    if codes:
        assert doc["errors"][0]["code"] in codes, doc
    return doc["errors"][0]


def assert_not_5xx(response: Any) -> None:
    method, status, _, body = _parts(response)
    assert status < 500, f"{method} -> {status}: {body[:500]!r}"


def _parts(response: Any) -> tuple[str, int, dict[str, str], bytes]:
    if isinstance(response, requests.Response):
        headers = {k.lower(): v for k, v in response.headers.items()}
        return response.request.method, response.status_code, headers, response.content
    return response.method, response.status, response.headers, response.body


@dataclass
class RawResponse:
    method: str
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    header_list: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """The registry under test: `requests` for ordinary calls, http.client/socket for
    requests whose exact bytes matter."""

    def __init__(self, base_url: str, session: requests.Session, credentials: tuple[str, str] | None = None):
        self.base = base_url.rstrip("/")
        self.credentials = credentials
        parts = urlsplit(self.base)
        assert parts.hostname == LOOPBACK, f"tests only talk to {LOOPBACK}, not {parts.hostname}"
        self.host, self.port = parts.hostname, parts.port or 80
        self.s = session
        self.client = V2Client(self.base, session)

    # ---- URLs and plain requests ------------------------------------------------------

    def url(self, path: str) -> str:
        return urljoin(self.base + "/", path)

    def v2(self, repo: str, *rest: str) -> str:
        return "/".join([self.base, "v2", repo, *rest])

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        return self.s.request(method, url if url.startswith("http") else self.url(url), **kwargs)

    def get(self, url: str, **kw) -> requests.Response:
        return self.request("GET", url, **kw)

    def head(self, url: str, **kw) -> requests.Response:
        return self.request("HEAD", url, **kw)

    def post(self, url: str, **kw) -> requests.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw) -> requests.Response:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw) -> requests.Response:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw) -> requests.Response:
        return self.request("DELETE", url, **kw)

    # ---- raw requests -----------------------------------------------------------------

    def raw(self, method: str, path: str, headers: Iterable[tuple[str, str]] = (),
            body: bytes | None = None) -> RawResponse:
        """One request with `path` sent exactly as given (no normalisation, repeated headers)."""
        headers = list(headers)
        if not any(name.lower() == "authorization" for name, _ in headers):
            headers.append(("Authorization", f"Bearer {self.token_for_path(path)}"))
        conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            data = response.read()
            header_list = response.getheaders()
        finally:
            conn.close()
        joined: dict[str, str] = {}
        for name, value in header_list:
            key = name.lower()
            joined[key] = f"{joined[key]}, {value}" if key in joined else value
        return RawResponse(method, response.status, joined, header_list, data)

    def token(self, *scopes: str) -> str:
        """A registry token for `scopes`, as the administrator."""
        response = requests.get(self.url("/token"), params={"service": "moorage", "scope": list(scopes)},
                                auth=self.credentials, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def token_for_path(self, path: str) -> str:
        """A token with every action on the repository a raw /v2/ path names (or the catalog)."""
        match = re.match(r"/v2/(.+?)/(manifests|blobs|tags|referrers)/", path)
        scope = f"repository:{match.group(1)}:pull,push,delete" if match else "registry:catalog:*"
        try:
            return self.token(scope)
        except AssertionError:  # a name the token endpoint refuses: send the catalog token
            return self.token("registry:catalog:*")

    def raw_bytes(self, request_line_target: bytes, method: bytes = b"GET") -> tuple[int, bytes]:
        """Send a request whose target holds arbitrary bytes; (status, whole response)."""
        with socket.create_connection((self.host, self.port), timeout=TIMEOUT) as sock:
            sock.sendall(method + b" " + request_line_target + b" HTTP/1.1\r\nHost: "
                         + f"{self.host}:{self.port}".encode() + b"\r\nConnection: close\r\n\r\n")
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        response = b"".join(chunks)
        status = int(response.split(b" ", 2)[1])
        return status, response

    # ---- registry operations ----------------------------------------------------------

    def start_upload(self, repo: str, **kw) -> requests.Response:
        response = self.post(self.v2(repo, "blobs", "uploads") + "/", **kw)
        assert response.status_code == 202, response.text
        return response

    def upload_url(self, repo: str) -> str:
        return self.url(self.start_upload(repo).headers["Location"])

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = sha256(data)
        response = self.post(self.v2(repo, "blobs", "uploads") + "/", params={"digest": digest},
                             data=data, headers=OCTET)
        assert response.status_code == 201, response.text
        return digest

    def push(self, repo: str, item: Image | Index, reference: str | None = None) -> requests.Response:
        return self.client.push(repo, item, reference)

    def put_manifest(self, repo: str, reference: str, manifest: Blob | bytes,
                     media_type: str | None = None) -> requests.Response:
        data = manifest.data if isinstance(manifest, Blob) else manifest
        content_type = media_type or (manifest.media_type if isinstance(manifest, Blob) else None)
        headers = {"Content-Type": content_type} if content_type else {}
        return self.put(self.v2(repo, "manifests", reference), data=data, headers=headers)

    def mount(self, repo: str, digest: str, source: str) -> requests.Response:
        return self.post(self.v2(repo, "blobs", "uploads") + "/", params={"mount": digest, "from": source})

    def place(self, seed: Seed, repo: str, image: Image | Blob, reference: str | None = None) -> requests.Response:
        """Put a manifest over the seed's blobs into `repo`: the blobs are mounted from the
        seed repository (one cheap write each), no bytes are uploaded."""
        manifest = image.manifest if isinstance(image, Image) else image
        for blob in seed.image.blobs():
            assert self.mount(repo, blob.digest, seed.repo).status_code == 201
        response = self.put_manifest(repo, reference or manifest.digest, manifest)
        assert response.status_code == 201, response.text
        return response

    def copy_image(self, seed: Seed, repo: str, reference: str | None = None) -> Image:
        """The seed image in `repo` (blobs mounted, manifest put); returns the image."""
        self.place(seed, repo, seed.image, reference)
        return seed.image

    def pull_blob(self, repo: str, digest: str) -> bytes:
        """GET the blob: a 307 to 127.0.0.1, then the bytes from there."""
        redirect = self.get(self.v2(repo, "blobs", digest))
        assert redirect.status_code == 307, redirect.text
        location = redirect.headers["Location"]
        assert urlsplit(location).hostname == LOOPBACK, location
        fetched = requests.get(location, timeout=TIMEOUT)
        assert fetched.status_code == 200, fetched.text[:300]
        return fetched.content

    def tags(self, repo: str, **params) -> requests.Response:
        return self.get(self.v2(repo, "tags", "list"), params=params or None)

    def catalog(self) -> list[str]:
        response = self.get("/v2/_catalog")
        assert response.status_code == 200, response.text
        return response.json()["repositories"]


@dataclass(frozen=True)
class Seed:
    repo: str
    image: Image


@dataclass(frozen=True)
class Snapshot:
    tags: Any
    catalog: tuple[str, ...] | None
    manifest: tuple[int, str | None]
    blobs: tuple[tuple[int, str | None], ...]


def snapshot(api: Api, repo: str, image: Image, catalog: bool = True) -> Snapshot:
    """What a bad request must leave as it was: the repository's tags, a HEAD of its
    manifest and of each blob, and (unless told not to) the catalog."""
    tags = api.tags(repo)
    manifest = api.head(api.v2(repo, "manifests", image.digest))
    blobs = tuple(
        (r.status_code, r.headers.get("Content-Length"))
        for r in (api.head(api.v2(repo, "blobs", b.digest)) for b in image.blobs())
    )
    return Snapshot(
        tags=(tags.status_code, tags.json() if tags.status_code == 200 else None),
        catalog=tuple(api.catalog()) if catalog else None,
        manifest=(manifest.status_code, manifest.headers.get("Docker-Content-Digest")),
        blobs=blobs,
    )


def unchanged(api: Api, repo: str, image: Image, before: Snapshot, writes: bool = True) -> None:
    after = snapshot(api, repo, image, catalog=writes)
    if not writes:
        before = Snapshot(before.tags, None, before.manifest, before.blobs)
    assert after == before
