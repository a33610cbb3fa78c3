from chalicelib.scanner.analyzers.apk import ApkAnalyzer

INSTALLED = b"""C:Q1abc=
P:libcrypto3
V:3.1.4-r5
A:x86_64
o:openssl
L:Apache-2.0
F:lib
R:libcrypto.so.3
F:usr/lib/python3.11/site-packages/cryptography-41.0.7.dist-info
R:METADATA

P:busybox
V:1.36.1-r15
A:x86_64
L:GPL-2.0-only
"""


def test_installed_database():
    findings = ApkAnalyzer().parse("lib/apk/db/installed", INSTALLED)
    assert [(p.name, p.version, p.source_name, p.licenses) for p in findings.packages] == [
        ("libcrypto3", "3.1.4-r5", "openssl", ("Apache-2.0",)),
        ("busybox", "1.36.1-r15", "busybox", ("GPL-2.0-only",)),
    ]
    assert "usr/lib/python3.11/site-packages/cryptography-41.0.7.dist-info/METADATA" in findings.owned_paths
    assert "lib/libcrypto.so.3" in findings.owned_paths
