"""import_osv: directories and all.zip files into one SQLite DB, opened read-only."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime

import pytest

from chalicelib.scanner import ScanFailed, VulnDB, VulnDBError, import_osv
from tests.scanner.builders import osv, write_osv

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_directories_and_zip_files(tmp_path):
    write_osv(tmp_path / "pypi", [osv("GHSA-aaaa", "PyPI", "Jinja2", [{"introduced": "0"}, {"fixed": "2.10.1"}],
                                      aliases=["CVE-2019-10906"])])
    with zipfile.ZipFile(tmp_path / "all.zip", "w") as archive:
        archive.writestr("DEBIAN-CVE-2024-0001.json", json.dumps(
            osv("DEBIAN-CVE-2024-0001", "Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "3.0.13-1"}])))
        archive.writestr("broken.json", "{not json")
        archive.writestr("withdrawn.json", json.dumps(osv("GHSA-gone", "npm", "x", [], withdrawn="2024-01-01")))
        archive.writestr("pro.json", json.dumps(osv("USN-1", "Ubuntu:Pro:18.04:LTS", "x", [{"introduced": "0"}])))
    info = import_osv([tmp_path / "pypi", tmp_path / "all.zip"], tmp_path / "db.sqlite", now=NOW)
    assert (info.advisories, info.affected, info.skipped) == (2, 2, 1)
    assert info.version.startswith("20260102T030405Z-")
    with VulnDB.open(info.path) as db:
        assert db.version == info.version
        (candidate,) = db.candidates("PyPI", "jinja2")          # stored under the PEP 503 name
        assert candidate.id == "GHSA-aaaa" and candidate.aliases == ("CVE-2019-10906",)
        assert db.candidates("Debian:12", "openssl")[0].affected["ranges"][0]["events"][1] == {"fixed": "3.0.13-1"}
        assert db.candidates("Debian:11", "openssl") == ()


def test_same_data_same_version_digest_and_newer_record_wins(tmp_path):
    old = osv("GHSA-x", "npm", "lodash", [{"introduced": "0"}, {"fixed": "4.17.20"}], modified="2024-01-01T00:00:00Z")
    new = osv("GHSA-x", "npm", "lodash", [{"introduced": "0"}, {"fixed": "4.17.21"}], modified="2024-06-01T00:00:00Z")
    write_osv(tmp_path / "a", [new])
    write_osv(tmp_path / "b", [old])
    first = import_osv([tmp_path / "a", tmp_path / "b"], tmp_path / "1.sqlite", now=NOW)
    second = import_osv([tmp_path / "b", tmp_path / "a"], tmp_path / "2.sqlite", now=NOW)
    assert first.version == second.version
    with VulnDB.open(second.path) as db:
        assert db.candidates("npm", "lodash")[0].affected["ranges"][0]["events"][1] == {"fixed": "4.17.21"}


def test_bad_sources_and_files(tmp_path):
    with pytest.raises(ScanFailed, match="not a directory of OSV records"):
        import_osv([tmp_path / "missing"], tmp_path / "db.sqlite")
    (tmp_path / "junk.sqlite").write_bytes(b"junk")
    with pytest.raises(VulnDBError):
        VulnDB.open(tmp_path / "junk.sqlite")
    with pytest.raises(VulnDBError, match="no such"):
        VulnDB.open(tmp_path / "absent.sqlite")
