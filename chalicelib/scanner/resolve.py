"""From what the layers said to what the image holds: only files still visible at the
top of the overlay count (a later layer may have deleted or replaced them), each
package is attributed to the first layer that had it, and language packages that an
OS package installed are left to the OS package."""

from __future__ import annotations

import posixpath
from typing import Any

from .analyzers import osrelease
from .analyzers.base import FoundPackage
from .collect import ImageReading, RecordedFile
from .errors import ScanFailed
from .image.overlay import path_key
from .inventory import OS_PACKAGE_TYPES, Inventory, OsRelease, Package, SecretFinding
from .purls import purl_for
from .secrets.detect import find_secrets

# Secrets in the image config (ENV, build commands) are reported against this path.
CONFIG_PATH = "<image config>"


def build_inventory(reading: ImageReading, config: dict[str, Any] | None) -> Inventory:
    os_release = _os_release(reading)
    visible = {path: top for path, versions in reading.files.items()
               if (top := _top(versions)) and not reading.overlay.hidden(path, top.layer)}
    owned: set[int] = set()
    for recorded in visible.values():
        owned.update(recorded.owned)
    packages: list[Package] = []
    for path in sorted(visible):
        top = visible[path]
        history = _history(reading.files[path], top.layer)
        for found in top.findings.packages:
            if found.type not in OS_PACKAGE_TYPES and path_key(path) in owned:
                continue
            layer = min((layer for layer, declared in history if _identity(found) in declared), default=top.layer)
            packages.append(_package(found, path, reading.layers[layer], os_release))
            if len(packages) > reading.limits.max_packages:
                raise ScanFailed(f"image declares more than {reading.limits.max_packages} packages (limit)")
    secrets = [
        SecretFinding(
            rule_id=found.match.rule.id, title=found.match.rule.title, severity=found.match.rule.severity,
            layer=reading.layers[found.layer], path=found.path, line=found.match.line, match=found.match.match,
            deleted_later=reading.overlay.hidden(found.path, found.layer),
        )
        for found in reading.secrets
    ]
    secrets.extend(_config_secrets(config))
    return Inventory(
        os=os_release,
        packages=tuple(sorted(packages, key=lambda p: (p.type, p.name, p.version, p.path))),
        secrets=tuple(secrets),
        layers=tuple(reading.layers),
        warnings=tuple(reading.warnings),
    )


def _top(versions: list[RecordedFile]) -> RecordedFile:
    # The highest layer wins; within one layer the entry written last.
    return max(reversed(versions), key=lambda recorded: recorded.layer)


def _identity(found: FoundPackage) -> tuple:
    return found.type, found.name, found.version, found.member


def _history(versions: list[RecordedFile], top: int) -> list[tuple[int, set[tuple]]]:
    """What each copy of a file up to the visible one declared. A package is
    attributed to the first layer whose copy already declared it at the same version:
    dpkg rewrites its status file in every layer that installs anything, but the
    package came with the first."""
    return [(v.layer, {_identity(p) for p in v.findings.packages}) for v in versions if v.layer <= top]


def _package(found: FoundPackage, path: str, layer: str, os_release: OsRelease | None) -> Package:
    return Package(
        type=found.type,
        name=found.name,
        version=found.version,
        purl=purl_for(found, os_release),
        path=f"{path}!/{found.member}" if found.member else path,
        layer=layer,
        source_name=found.source_name,
        source_version=found.source_version,
        arch=found.arch,
        licenses=found.licenses,
    )


def _os_release(reading: ImageReading) -> OsRelease | None:
    for path in osrelease.PATHS:
        found = _resolve_os_release(reading, path, reading.limits.max_symlink_hops)
        if found is not None:
            return found
    return None


def _resolve_os_release(reading: ImageReading, path: str, hops_left: int) -> OsRelease | None:
    versions = reading.os_release.get(path)
    if not versions:
        return None
    top = max(reversed(versions), key=lambda candidate: candidate.layer)
    if reading.overlay.hidden(path, top.layer):
        return None
    if top.data is not None:
        return osrelease.parse_os_release(top.data)
    if hops_left <= 0:
        reading.warn(f"{path}: too many symlinks while looking for os-release")
        return None
    target = posixpath.normpath(posixpath.join("/" + posixpath.dirname(path), top.target)).lstrip("/")
    return _resolve_os_release(reading, target, hops_left - 1)


def _config_secrets(config: dict[str, Any] | None) -> list[SecretFinding]:
    """ENV values and build commands in the image config are pulled with the image."""
    if not isinstance(config, dict):
        return []
    lines: list[str] = []
    inner = config.get("config")
    if isinstance(inner, dict) and isinstance(inner.get("Env"), list):
        lines += [str(value) for value in inner["Env"]]
    for step in config.get("history") or ():
        if isinstance(step, dict) and step.get("created_by"):
            lines.append(str(step["created_by"]))
    data = "\n".join(lines).encode("utf-8", "replace")
    # Named like an env file so the generic assignment rule applies.
    return [
        SecretFinding(rule_id=m.rule.id, title=m.rule.title, severity=m.rule.severity, layer="",
                      path=CONFIG_PATH, line=m.line, match=m.match)
        for m in find_secrets(".env", data)
    ]
