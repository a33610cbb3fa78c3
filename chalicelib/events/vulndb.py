"""New vulnerability data: import OSV sources into a DB (the daily refresh), or take a DB
a client built and uploaded (`moorage vulndb import`); publish it, and announce
`vulndb.updated` so the scan consumer rescans what was pulled lately.

The announcement's id is the DB's version, which names its content: publishing the same
data twice rescans nothing twice."""
from __future__ import annotations

import hashlib
import tempfile
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from .model import Actor, Event

_DOWNLOAD_MAX = 4 * 1024 ** 3
_CHUNK = 1024 * 1024
UPLOADS = "_vulndb/uploads/"


class VulnDbSourceError(ValueError):
    pass


def refresh(services, sources: tuple[str, ...] | None = None):
    """Import `sources` (default: settings.vulndb_sources); None when there are none."""
    from chalicelib.scanner import import_osv

    sources = tuple(sources or services.settings.vulndb_sources)
    if not sources:
        return None
    with tempfile.TemporaryDirectory(prefix="moorage-osv-") as work:
        paths = [fetch(source, Path(work) / f"source-{n}") for n, source in enumerate(sources)]
        db_file = Path(work) / "vulndb.sqlite"
        import_osv(paths, db_file)
        return publish_and_announce(services, db_file, "system:vulndb-refresh")


def activate_upload(services, key: str, sha256: str, actor: str):
    """Publish a DB file a client uploaded to `key` (see the API), after checking that it
    is the file the client said (SHA-256) and a DB this scanner can open."""
    from chalicelib.scanner import VulnDB

    if not key.startswith(UPLOADS):
        raise VulnDbSourceError("not an upload of this API")
    with tempfile.TemporaryDirectory(prefix="moorage-vulndb-") as work:
        db_file = Path(work) / "vulndb.sqlite"
        digest = hashlib.sha256()
        with db_file.open("wb") as out:
            for chunk in services.objects.read_chunks(key, _CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise VulnDbSourceError("the uploaded file is not the one announced (SHA-256 differs)")
        try:
            VulnDB.open(db_file).close()
        except Exception as error:  # noqa: BLE001  (whatever the file is, it is not a DB)
            raise VulnDbSourceError(f"not a vulnerability DB: {error}") from None
        pointer = publish_and_announce(services, db_file, actor)
    services.objects.delete(key)
    return pointer


def publish_and_announce(services, db_file: Path, actor: str):
    from chalicelib.scanner import publish

    pointer = publish(db_file, services.objects)
    services.events.send([Event(id=f"vulndb:{pointer.version}", type="vulndb.updated", time=services.clock.now(),
                                actor=Actor(actor), details={"version": pointer.version,
                                                             "advisories": pointer.advisories})])
    return pointer


def fetch(source: str, destination: Path) -> Path:
    """A local path as it is; an http(s) URL downloaded (an OSV all.zip or a record)."""
    scheme = urlsplit(source).scheme
    if scheme in ("http", "https"):
        name = Path(urlsplit(source).path).name or "source"
        destination.mkdir(parents=True, exist_ok=True)
        target = destination / name
        with urllib.request.urlopen(source, timeout=60) as response, target.open("wb") as out:  # noqa: S310
            copied = 0
            while chunk := response.read(_CHUNK):
                copied += len(chunk)
                if copied > _DOWNLOAD_MAX:
                    raise VulnDbSourceError(f"{source}: larger than {_DOWNLOAD_MAX} bytes")
                out.write(chunk)
        return target
    path = Path(source)
    if scheme or not path.exists():
        raise VulnDbSourceError(f"{source}: neither an http(s) URL nor an existing path")
    return path


