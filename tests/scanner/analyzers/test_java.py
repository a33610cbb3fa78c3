"""Jars read as streams: coordinates from pom.properties, MANIFEST.MF or the name,
nested archives, data descriptors, zip bombs."""

from __future__ import annotations

import pytest

from chalicelib.scanner import Limits, ScanFailed, inventory_image
from chalicelib.scanner.analyzers.java import JavaAnalyzer
from chalicelib.scanner.limits import DEFAULT_LIMITS
from tests.scanner.builders import jar, pom_properties, source
from tests.support.images import tar_layer

MANIFEST = b"Manifest-Version: 1.0\r\nImplementation-Title: commons-text\r\nImplementation-Version: 1.9\r\n" \
           b"Implementation-Vendor-Id: org.apache.commons\r\n\r\n"


def _analyze(path: str, data: bytes, limits=DEFAULT_LIMITS):
    reader = iter([data[i:i + 7000] for i in range(0, len(data), 7000)])
    return JavaAnalyzer().analyze(path, lambda n: next(reader, b""), len(data), limits)


def _coordinates(findings):
    return [(p.name, p.version, p.member) for p in findings.packages]


@pytest.mark.parametrize("descriptors", [False, True])
def test_pom_properties(descriptors):
    log4j = jar(dict([pom_properties("org.apache.logging.log4j", "log4j-core", "2.14.1"),
                      ("org/apache/logging/log4j/core/Logger.class", b"\xca\xfe\xba\xbe" + b"x" * 5000),
                      ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\n")]), descriptors=descriptors)
    assert _coordinates(_analyze("app/lib/log4j-core-2.14.1.jar", log4j)) == [
        ("org.apache.logging.log4j:log4j-core", "2.14.1", None)]


def test_manifest_and_file_name_fallbacks():
    assert _coordinates(_analyze("a/commons-text.jar", jar({"META-INF/MANIFEST.MF": MANIFEST}))) == [
        ("org.apache.commons:commons-text", "1.9", None)]
    assert _coordinates(_analyze("a/guava-31.1-jre.jar", jar({"com/google/X.class": b"x"}))) == [
        ("guava", "31.1-jre", None)]


def test_nested_archives_in_a_war_and_their_paths_in_an_image():
    inner = jar(dict([pom_properties("com.fasterxml.jackson.core", "jackson-databind", "2.9.10.1")]))
    war = jar({"WEB-INF/web.xml": b"<web-app/>", "WEB-INF/lib/jackson-databind-2.9.10.1.jar": inner,
               **dict([pom_properties("com.example", "shop", "1.0.0")])}, stored=("WEB-INF/lib/jackson-databind-2.9.10.1.jar",))
    inventory = inventory_image([source(tar_layer({"usr/local/tomcat/webapps/shop.war": war}))])
    assert [(p.name, p.path) for p in inventory.packages] == [
        ("com.example:shop", "usr/local/tomcat/webapps/shop.war"),
        ("com.fasterxml.jackson.core:jackson-databind",
         "usr/local/tomcat/webapps/shop.war!/WEB-INF/lib/jackson-databind-2.9.10.1.jar"),
    ]
    assert inventory.packages[1].purl == "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.10.1"


def test_nesting_depth_is_bounded():
    level3 = jar(dict([pom_properties("g", "deep", "3")]))
    level2 = jar({"lib/deep.jar": level3, **dict([pom_properties("g", "mid", "2")])})
    level1 = jar({"lib/mid.jar": level2, **dict([pom_properties("g", "top", "1")])})
    names = [p.name for p in _analyze("x.jar", level1, Limits(max_archive_depth=2)).packages]
    assert names == ["g:mid", "g:top"]


def test_damaged_archive_is_a_warning():
    data = jar(dict([pom_properties("g", "a", "1"), ("big.bin", b"y" * 100_000)]))
    findings = _analyze("x.jar", data[: len(data) // 2])
    assert findings.warnings and "unreadable archive" in findings.warnings[0]


def test_zip_bomb_fails_the_scan():
    bomb = jar({"zeros.bin": bytes(30 * 1024 * 1024)}, descriptors=True)
    limits = Limits(max_ratio=50, ratio_floor_bytes=1024 * 1024)
    with pytest.raises(ScanFailed, match="zip bomb"):
        inventory_image([source(tar_layer({"app/bomb.jar": bomb}))], limits=limits)
