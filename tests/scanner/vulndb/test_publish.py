"""publish/load through the ObjectStore port: pointer last, download once, verified."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.scanner import (
    POINTER_KEY,
    VulnDBError,
    current_pointer,
    import_osv,
    load,
    publish,
)
from tests.scanner.builders import MemoryObjects, osv, write_osv


def _db(tmp_path, name: str, when: datetime):
    write_osv(tmp_path / name, [osv(f"GHSA-{name}", "PyPI", "flask", [{"introduced": "0"}, {"fixed": "2.2.5"}])])
    return import_osv([tmp_path / name], tmp_path / f"{name}.sqlite", now=when)


def test_publish_then_load_once_per_version(tmp_path):
    objects = MemoryObjects()
    with pytest.raises(VulnDBError, match="no vulnerability DB has been published"):
        load(objects, tmp_path / "cache")
    first = _db(tmp_path, "one", datetime(2026, 1, 1, tzinfo=UTC))
    pointer = publish(first.path, objects)
    assert pointer.key == f"_vulndb/{first.version}/vulndb.sqlite.gz"
    assert list(objects.objects) == [pointer.key, POINTER_KEY]          # data first, pointer last
    db = load(objects, tmp_path / "cache")
    assert db.version == first.version and db.candidates("PyPI", "flask")
    objects.reads.clear()
    assert load(objects, tmp_path / "cache").version == first.version
    assert objects.reads == [POINTER_KEY]                                  # cached: no download

    second = _db(tmp_path, "two", datetime(2026, 2, 1, tzinfo=UTC))
    publish(second.path, objects)
    assert load(objects, tmp_path / "cache").version == second.version
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [f"vulndb-{second.version}.sqlite"]
    assert db.candidates("PyPI", "flask")        # an open older DB keeps working


def test_damaged_download_is_refused(tmp_path):
    objects = MemoryObjects()
    pointer = publish(_db(tmp_path, "one", datetime(2026, 1, 1, tzinfo=UTC)).path, objects)
    data = bytearray(objects.objects[pointer.key])
    data[len(data) // 2] ^= 0xFF
    objects.objects[pointer.key] = bytes(data)
    with pytest.raises(VulnDBError):
        load(objects, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


@pytest.mark.parametrize("pointer", [b"{not json", json.dumps({"version": "../../etc", "key": "k", "sha256": "x",
                                                                 "size": 1, "built_at": "", "advisories": 0}).encode()])
def test_bad_pointers(pointer):
    objects = MemoryObjects()
    objects.put(POINTER_KEY, pointer)
    with pytest.raises(VulnDBError):
        current_pointer(objects)
