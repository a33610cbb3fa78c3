"""match: an image built from package metadata against OSV records written here.
Every expected vulnerability is found once, fixed versions and deleted packages are
not reported, and a stored inventory can be matched again against a newer DB."""

from __future__ import annotations

import json

import pytest

from chalicelib.scanner import Inventory, VulnDB, import_osv, inventory_image, match
from tests.scanner.builders import (
    fake_elf,
    go_build_info,
    jar,
    osv,
    pom_properties,
    sources,
    write_osv,
)
from tests.support.images import build_image, tar_layer

CVSS_HIGH = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}]
CVSS_CRITICAL = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
DEBIAN_STATUS = b"""Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u1

Package: openssl
Status: install ok installed
Architecture: amd64
Version: 3.0.11-1~deb12u1

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
"""


def _metadata(name: str, version: str) -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode()


def _package_json(name: str, version: str) -> bytes:
    return json.dumps({"name": name, "version": version}).encode()


@pytest.fixture(scope="module")
def debian_image():
    site = "app/venv/lib/python3.11/site-packages"
    base = tar_layer({
        "etc/os-release": b'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
        "var/lib/dpkg/status": DEBIAN_STATUS,
    })
    app = tar_layer({
        f"{site}/requests-2.19.1.dist-info/METADATA": _metadata("requests", "2.19.1"),
        f"{site}/Jinja2-3.1.4.dist-info/METADATA": _metadata("Jinja2", "3.1.4"),       # fixed version
        f"{site}/PyYAML-5.3.dist-info/METADATA": _metadata("PyYAML", "5.3"),
        "srv/node_modules/lodash/package.json": _package_json("lodash", "4.17.20"),
        "srv/lib/log4j-core-2.14.1.jar": jar(dict([pom_properties("org.apache.logging.log4j", "log4j-core", "2.14.1")])),
        "usr/local/bin/server": fake_elf((4096, go_build_info(
            "go1.20.3", "path\tx\nmod\tx\t(devel)\t\ndep\tgolang.org/x/net\tv0.6.0\th1:x=\n"))),
    })
    # A later layer removes PyYAML: its advisory must not be reported.
    cleanup = tar_layer({f"{site}/PyYAML-5.3.dist-info": None})
    return build_image([base, app, cleanup])


RECORDS = [
    osv("DSA-5000-1", "Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}],
        aliases=["CVE-2023-5678", "CVE-2023-6129"]),
    osv("DEBIAN-CVE-2023-5678", "Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}],
        upstream=["CVE-2023-5678"], severity=CVSS_HIGH),
    osv("DEBIAN-CVE-2023-6129", "Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]),
    # Another release's advisory, and a fixed one: neither applies.
    osv("DEBIAN-CVE-2022-0001", "Debian:11", "openssl", [{"introduced": "0"}]),
    osv("DEBIAN-CVE-2022-37434", "Debian:12", "zlib", [{"introduced": "0"}, {"fixed": "1:1.2.13.dfsg-1"}]),
    # Unfixed in the release: affected, not fixable.
    osv("DEBIAN-CVE-2010-4756", "Debian:12", "glibc", [{"introduced": "0"}], ecosystem_specific={"urgency": "unimportant"}),
    osv("PYSEC-2018-28", "PyPI", "requests", [{"introduced": "0"}, {"fixed": "2.20.0"}],
        aliases=["CVE-2018-18074", "GHSA-x84v-xcm2-53pg"]),
    osv("GHSA-x84v-xcm2-53pg", "PyPI", "requests", [{"introduced": "0"}, {"fixed": "2.20.0"}],
        aliases=["CVE-2018-18074"], severity=CVSS_HIGH),
    osv("GHSA-h5c8-rqwp-cp95", "PyPI", "jinja2", [{"introduced": "0"}, {"fixed": "3.1.4"}], aliases=["CVE-2024-34064"]),
    osv("GHSA-8q59-q68h-6hv4", "PyPI", "pyyaml", [{"introduced": "0"}, {"fixed": "5.4"}], aliases=["CVE-2020-14343"],
        severity=CVSS_CRITICAL),
    osv("GHSA-35jh-r3h4-6jhm", "npm", "lodash", [{"introduced": "0"}, {"fixed": "4.17.21"}], aliases=["CVE-2021-23337"],
        database_specific={"severity": "HIGH"}),
    osv("GHSA-jfh8-c2jp-5v3q", "Maven", "org.apache.logging.log4j:log4j-core",
        [{"introduced": "2.0-beta9"}, {"fixed": "2.15.0"}], aliases=["CVE-2021-44228"], severity=CVSS_CRITICAL),
    osv("GO-2023-1571", "Go", "golang.org/x/net", [{"introduced": "0"}, {"fixed": "0.7.0"}], aliases=["CVE-2022-41723"]),
    osv("GO-2023-1704", "Go", "stdlib", [{"introduced": "1.20.0"}, {"fixed": "1.20.4"}], aliases=["CVE-2023-24539"]),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    directory = write_osv(tmp_path_factory.mktemp("osv"), RECORDS)
    info = import_osv([directory], directory / "db.sqlite")
    with VulnDB.open(info.path) as opened:
        yield opened


def test_every_expected_vulnerability_and_nothing_else(debian_image, db):
    findings = match(inventory_image(sources(debian_image)), db)
    got = sorted((f.id, f.package_name, f.installed_version) for f in findings)
    assert got == sorted([
        ("CVE-2023-5678", "libssl3", "3.0.11-1~deb12u1"), ("CVE-2023-6129", "libssl3", "3.0.11-1~deb12u1"),
        ("CVE-2023-5678", "openssl", "3.0.11-1~deb12u1"), ("CVE-2023-6129", "openssl", "3.0.11-1~deb12u1"),
        ("CVE-2010-4756", "libc6", "2.36-9+deb12u4"),
        ("CVE-2018-18074", "requests", "2.19.1"),
        ("CVE-2021-23337", "lodash", "4.17.20"),
        ("CVE-2021-44228", "org.apache.logging.log4j:log4j-core", "2.14.1"),
        ("CVE-2022-41723", "golang.org/x/net", "0.6.0"),
        ("CVE-2023-24539", "stdlib", "1.20.3"),
    ])


def test_finding_details(debian_image, db):
    findings = {(f.id, f.package_name): f for f in match(inventory_image(sources(debian_image)), db)}
    requests = findings["CVE-2018-18074", "requests"]
    assert requests.aliases == ("GHSA-x84v-xcm2-53pg", "PYSEC-2018-28")
    assert (requests.severity, requests.score, requests.fixed_versions) == ("HIGH", 7.5, ("2.20.0",))
    assert requests.vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
    assert requests.layer == debian_image.layers[1].digest
    libssl = findings["CVE-2023-5678", "libssl3"]
    assert (libssl.source_name, libssl.ecosystem, libssl.severity) == ("openssl", "Debian:12", "HIGH")
    assert libssl.layer == debian_image.layers[0].digest and libssl.fixable
    glibc = findings["CVE-2010-4756", "libc6"]
    assert (glibc.severity, glibc.fixable) == ("LOW", False)
    assert findings["CVE-2021-44228", "org.apache.logging.log4j:log4j-core"].severity == "CRITICAL"
    assert findings["CVE-2021-23337", "lodash"].severity == "HIGH"


def test_alpine_fixed_revision_is_not_reported(tmp_path):
    installed = b"P:busybox\nV:1.36.1-r10\nA:x86_64\no:busybox\n\nP:ssl_client\nV:1.36.1-r9\no:busybox\n\n"
    image = build_image([tar_layer({"etc/os-release": b"ID=alpine\nVERSION_ID=3.19.1\n",
                                    "lib/apk/db/installed": installed})])
    directory = write_osv(tmp_path / "osv", [
        osv("ALPINE-CVE-2023-42366", "Alpine:v3.19", "busybox", [{"introduced": "0"}, {"fixed": "1.36.1-r10"}]),
        osv("ALPINE-CVE-2023-0000", "Alpine:v3.18", "busybox", [{"introduced": "0"}]),
    ])
    with VulnDB.open(import_osv([directory], tmp_path / "db.sqlite").path) as alpine_db:
        findings = match(inventory_image(sources(image)), alpine_db)
    assert [(f.package_name, f.installed_version, f.fixed_versions) for f in findings] == [
        ("ssl_client", "1.36.1-r9", ("1.36.1-r10",))]


def test_stored_inventory_is_matched_again_against_a_newer_db(debian_image, db, tmp_path):
    stored = inventory_image(sources(debian_image)).to_json()
    newer = write_osv(tmp_path / "osv", RECORDS + [
        osv("GHSA-new", "PyPI", "jinja2", [{"introduced": "3.0.0"}, {"fixed": "3.1.5"}], aliases=["CVE-2024-56201"]),
    ])
    with VulnDB.open(import_osv([newer], tmp_path / "db.sqlite").path) as newer_db:
        again = match(Inventory.from_json(stored), newer_db)
    assert len(again) == len(match(Inventory.from_json(stored), db)) + 1
    assert ("CVE-2024-56201", "Jinja2") in {(f.id, f.package_name) for f in again}
