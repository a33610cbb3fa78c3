"""A minimal client of the distribution API (requests), for pushes no CLI makes.

Uses the standard monolithic flow (POST /blobs/uploads/ then PUT ?digest=) and
PUT /manifests/<reference> with the manifest's own media type as Content-Type.
"""

from __future__ import annotations

from urllib.parse import urljoin

import requests

from tests.support.images import Blob, Image, Index

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


class V2Error(RuntimeError):
    def __init__(self, response: requests.Response, what: str):
        super().__init__(
            f"{what}: {response.request.method} {response.url} -> {response.status_code} {response.text[:500]}"
        )
        self.response = response


class V2Client:
    def __init__(self, base_url: str, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()

    def _url(self, repo: str, *path: str) -> str:
        return "/".join([self.base_url, "v2", repo, *path])

    def blob_exists(self, repo: str, digest: str) -> bool:
        return self.session.head(self._url(repo, "blobs", digest), timeout=30).status_code == 200

    def push_blob(self, repo: str, blob: Blob) -> None:
        """POST an upload session, then PUT the whole blob with ?digest=."""
        started = self.session.post(self._url(repo, "blobs", "uploads") + "/", timeout=30)
        if started.status_code != 202 or "Location" not in started.headers:
            raise V2Error(started, "start upload")
        location = urljoin(self.base_url + "/", started.headers["Location"])
        done = self.session.put(
            location,
            params={"digest": blob.digest},
            data=blob.data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=120,
        )
        if done.status_code != 201:
            raise V2Error(done, f"upload {blob.digest}")

    def push_manifest(self, repo: str, reference: str, manifest: Blob) -> requests.Response:
        response = self.session.put(
            self._url(repo, "manifests", reference),
            data=manifest.data,
            headers={"Content-Type": manifest.media_type},
            timeout=30,
        )
        if response.status_code != 201:
            raise V2Error(response, f"put manifest {reference}")
        return response

    def push(self, repo: str, item: Image | Index, reference: str | None = None) -> requests.Response:
        """Upload every blob, child manifests by digest, then the manifest at
        `reference` (a tag; by digest when None)."""
        children = item.images if isinstance(item, Index) else ()
        blobs = item.blobs() if isinstance(item, Image) else [b for c in children for b in c.blobs()]
        for blob in {b.digest: b for b in blobs}.values():
            if not self.blob_exists(repo, blob.digest):
                self.push_blob(repo, blob)
        for child in children:
            self.push_manifest(repo, child.digest, child.manifest)
        return self.push_manifest(repo, reference or item.digest, item.manifest)

    def get_manifest(self, repo: str, reference: str, accept: str = MANIFEST_ACCEPT) -> requests.Response:
        return self.session.get(self._url(repo, "manifests", reference), headers={"Accept": accept}, timeout=30)

    def referrers(self, repo: str, digest: str, artifact_type: str | None = None) -> requests.Response:
        params = {"artifactType": artifact_type} if artifact_type else None
        return self.session.get(self._url(repo, "referrers", digest), params=params, timeout=30)
