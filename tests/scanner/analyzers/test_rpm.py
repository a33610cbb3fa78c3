import pytest

from chalicelib.scanner import inventory_image
from chalicelib.scanner.analyzers.rpm import RpmAnalyzer
from chalicelib.scanner.analyzers.rpmheader import HeaderError, parse_header
from tests.scanner.builders import rpm_package, rpmdb_sqlite, source
from tests.support.images import tar_layer

ROCKY = b'NAME="Rocky Linux"\nVERSION_ID="9.3"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'


def _headers():
    return [
        rpm_package("openssl-libs", "3.0.7", "25.el9_3", epoch=1, sourcerpm="openssl-3.0.7-25.el9_3.src.rpm",
                    files=("/usr/lib64/libssl.so.3", "/usr/lib64/libcrypto.so.3")),
        rpm_package("python3-requests", "2.25.1", "8.el9", arch="noarch", sourcerpm="python-requests-2.25.1-8.el9.src.rpm",
                    files=("/usr/lib/python3.9/site-packages/requests-2.25.1-py3.9.egg-info/PKG-INFO",)),
        rpm_package("gpg-pubkey", "350d275d", "6279464b"),
    ]


def test_rpmdb_sqlite_in_wal_mode(tmp_path):
    findings = RpmAnalyzer().parse("var/lib/rpm/rpmdb.sqlite", rpmdb_sqlite(tmp_path, _headers()))
    assert [(p.name, p.version, p.source_name, p.source_version, p.arch) for p in findings.packages] == [
        ("openssl-libs", "1:3.0.7-25.el9_3", "openssl", "1:3.0.7-25.el9_3", "x86_64"),
        ("python3-requests", "2.25.1-8.el9", "python-requests", "2.25.1-8.el9", "noarch"),
    ]
    assert "usr/lib64/libssl.so.3" in findings.owned_paths


def test_rpm_owned_python_package_is_reported_once(tmp_path):
    files = {
        "etc/os-release": ROCKY,
        "var/lib/rpm/rpmdb.sqlite": rpmdb_sqlite(tmp_path, _headers()),
        "usr/lib/python3.9/site-packages/requests-2.25.1-py3.9.egg-info/PKG-INFO":
            b"Metadata-Version: 2.1\nName: requests\nVersion: 2.25.1\n",
    }
    inventory = inventory_image([source(tar_layer(files))])
    assert [p.type for p in inventory.packages] == ["rpm", "rpm"]
    assert inventory.packages[0].purl == ("pkg:rpm/rocky/openssl-libs@3.0.7-25.el9_3"
                                          "?arch=x86_64&distro=rocky-9.3&epoch=1")


def test_damaged_databases_are_warnings(tmp_path):
    analyzer = RpmAnalyzer()
    assert analyzer.parse("var/lib/rpm/rpmdb.sqlite", b"not sqlite").warnings
    bad = rpmdb_sqlite(tmp_path, [b"\x00\x00\x00\x05garbage", _headers()[0]], wal=False)
    findings = analyzer.parse("var/lib/rpm/rpmdb.sqlite", bad)
    assert [p.name for p in findings.packages] == ["openssl-libs"]
    assert findings.warnings == ("var/lib/rpm/rpmdb.sqlite: 1 unreadable package headers",)


@pytest.mark.parametrize("blob", [b"", b"\x00\x00\x00\x01\x00\x00\x00\x10", b"\x7f\xff\xff\xff\x00\x00\x00\x00" + b"\0" * 32])
def test_malformed_headers(blob):
    with pytest.raises(HeaderError):
        parse_header(blob)


def test_string_past_the_data_store_is_refused():
    header = bytearray(rpm_package("a", "1", "1"))
    header[-1:] = b"x"   # the last string loses its NUL
    with pytest.raises(HeaderError):
        parse_header(bytes(header))
