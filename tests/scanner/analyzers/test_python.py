from chalicelib.scanner.analyzers.python import PythonAnalyzer

METADATA = b"""Metadata-Version: 2.1
Name: Jinja2
Version: 2.10
Summary: A very fast and expressive template engine.
License: BSD
Classifier: Development Status :: 5 - Production/Stable
Classifier: License :: OSI Approved :: BSD License

Jinja2
~~~~~~
Version: 9.9 in the description is not a header.
"""


def test_dist_info_metadata():
    (package,) = PythonAnalyzer().parse("x/Jinja2-2.10.dist-info/METADATA", METADATA).packages
    assert (package.type, package.name, package.version, package.licenses) == ("pypi", "Jinja2", "2.10", ("BSD",))


def test_paths():
    analyzer = PythonAnalyzer()
    assert analyzer.matches("usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA")
    assert analyzer.matches("usr/lib/python3/dist-packages/perf-0.1.egg-info/PKG-INFO")
    assert analyzer.matches("usr/lib/python3/dist-packages/crcmod-1.7.egg-info")
    assert not analyzer.matches("usr/lib/python3/dist-packages/foo/METADATA")


def test_long_license_text_is_not_a_license_name():
    data = b"Name: x\nVersion: 1\nLicense: Copyright (c) 2010\n        Permission is hereby granted...\n"
    (package,) = PythonAnalyzer().parse("x.egg-info", data).packages
    assert package.licenses == ()


def test_unknown_version_is_not_a_package():
    assert PythonAnalyzer().parse("x.egg-info", b"Name: x\nVersion: UNKNOWN\n").packages == ()
