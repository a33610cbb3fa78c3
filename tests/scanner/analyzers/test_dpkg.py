from chalicelib.scanner.analyzers.dpkg import DpkgAnalyzer

STATUS = b"""Package: libssl3
Status: install ok installed
Priority: optional
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit
 This package is part of the OpenSSL project.

Package: libgcc-s1
Status: install ok installed
Architecture: amd64
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14+b1

Package: old-tool
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
"""


def test_status_source_forms_and_removed_packages():
    found = DpkgAnalyzer().parse("var/lib/dpkg/status", STATUS).packages
    assert [(p.name, p.version, p.source_name, p.source_version) for p in found] == [
        ("libssl3", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2"),
        ("libgcc-s1", "12.2.0-14+b1", "gcc-12", "12.2.0-14"),
    ]


def test_lists_give_owned_paths():
    findings = DpkgAnalyzer().parse("var/lib/dpkg/info/python3-yaml.list",
                                    b"/.\n/usr\n/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA\n")
    assert findings.owned_paths == ("usr", "usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA")


def test_which_paths():
    analyzer = DpkgAnalyzer()
    assert analyzer.matches("var/lib/dpkg/status")
    assert analyzer.matches("var/lib/dpkg/status.d/base")
    assert analyzer.matches("var/lib/dpkg/info/libc6:amd64.list")
    assert not analyzer.matches("var/lib/dpkg/status.d/base.md5sums")
    assert not analyzer.matches("var/lib/dpkg/status-old")
    assert not analyzer.matches("var/lib/dpkg/info/libc6.md5sums")
