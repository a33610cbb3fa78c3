"""What a scan found in an image, as frozen values that round-trip through JSON.

An inventory is stored next to the scan report so that a new vulnerability DB can be
matched against it again without reading the layers a second time."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

INVENTORY_SCHEMA = 1

# purl types of packages that a distribution's package manager installed.
OS_PACKAGE_TYPES = frozenset({"deb", "apk", "rpm"})


@dataclass(frozen=True)
class OsRelease:
    """The distribution, from os-release(5)."""

    id: str                      # "debian", "alpine", "ubuntu", ...
    version_id: str              # "12", "3.19.1", "22.04"; "" for rolling distributions
    pretty_name: str = ""
    id_like: tuple[str, ...] = ()


@dataclass(frozen=True)
class Package:
    type: str                    # purl type: deb, apk, rpm, pypi, npm, golang, maven, ...
    name: str
    version: str
    purl: str
    path: str                    # the metadata file (or binary, or archive) that declared it
    layer: str                   # digest of the layer that introduced it
    source_name: str | None = None     # distro source package (dpkg Source:, apk o:, rpm SRPM)
    source_version: str | None = None
    arch: str | None = None
    licenses: tuple[str, ...] = ()

    @property
    def category(self) -> str:
        return "os" if self.type in OS_PACKAGE_TYPES else "language"


@dataclass(frozen=True)
class SecretFinding:
    rule_id: str
    title: str
    severity: str
    layer: str                   # digest of the layer holding the file
    path: str
    line: int
    match: str                   # redacted: enough to recognise the secret, never all of it
    # A later layer deleted or replaced the file: it is not in the running container's
    # filesystem, but anyone who pulls the image still gets the bytes.
    deleted_later: bool = False


@dataclass(frozen=True)
class Inventory:
    os: OsRelease | None
    packages: tuple[Package, ...]
    secrets: tuple[SecretFinding, ...]
    layers: tuple[str, ...]      # layer digests, base first
    warnings: tuple[str, ...] = ()   # what was skipped and why (unparseable files, ...)

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["schema"] = INVENTORY_SCHEMA
        return document

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Inventory:
        if document.get("schema") != INVENTORY_SCHEMA:
            raise ValueError(f"unsupported inventory schema {document.get('schema')!r}")
        os_release = document.get("os")
        return cls(
            os=value_from_dict(OsRelease, os_release) if os_release else None,
            packages=tuple(value_from_dict(Package, p) for p in document.get("packages", ())),
            secrets=tuple(value_from_dict(SecretFinding, s) for s in document.get("secrets", ())),
            layers=tuple(document.get("layers", ())),
            warnings=tuple(document.get("warnings", ())),
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> Inventory:
        return cls.from_dict(json.loads(data))


def value_from_dict(cls: type, values: dict[str, Any]) -> Any:
    """A flat dataclass from its asdict() form; lists become tuples, unknown keys are
    dropped so that a newer writer's extra fields do not break an older reader."""
    known = {f.name for f in fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known})
