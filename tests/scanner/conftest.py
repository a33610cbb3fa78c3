"""Fixtures built from this machine's real package metadata (skipped where absent)."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

DPKG = Path("/var/lib/dpkg")


@pytest.fixture(scope="session")
def dpkg_status() -> bytes:
    status = DPKG / "status"
    if not status.is_file():
        pytest.skip("no /var/lib/dpkg/status on this machine")
    return status.read_bytes()


@pytest.fixture(scope="session")
def dpkg_lists() -> dict[str, bytes]:
    """var/lib/dpkg/info/*.list as layer files."""
    lists = {f"var/lib/dpkg/info/{p.name}": p.read_bytes() for p in (DPKG / "info").glob("*.list")}
    if not lists:
        pytest.skip("no dpkg .list files on this machine")
    return lists


@pytest.fixture(scope="session")
def venv_dist_infos() -> dict[str, bytes]:
    """METADATA of the dist-info folders in the venv running the tests, as a layer
    would hold them under /app/venv."""
    site = Path(sysconfig.get_paths()["purelib"])
    found = {
        f"app/venv/lib/python3.11/site-packages/{d.name}/METADATA": (d / "METADATA").read_bytes()
        for d in sorted(site.glob("*.dist-info")) if (d / "METADATA").is_file()
    }
    assert found, f"no dist-info folders in {site}"
    return found
