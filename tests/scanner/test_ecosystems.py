import pytest

from chalicelib.scanner.ecosystems import (
    distro_ecosystem,
    normalize_ecosystem,
    normalize_name,
)
from chalicelib.scanner.inventory import OsRelease


@pytest.mark.parametrize("os_id, version_id, ecosystem", [
    ("debian", "12", "Debian:12"),
    ("debian", "11.9", "Debian:11"),
    ("alpine", "3.19.1", "Alpine:v3.19"),
    ("ubuntu", "22.04", "Ubuntu:22.04"),
    ("rocky", "9.3", "Rocky Linux:9"),
    ("wolfi", "20230201", "Wolfi"),
    ("debian", "", None),
    ("gentoo", "2.14", None),
])
def test_release_ecosystems(os_id, version_id, ecosystem):
    assert distro_ecosystem(OsRelease(os_id, version_id)) == ecosystem


@pytest.mark.parametrize("raw, stored", [
    ("Ubuntu:22.04:LTS", "Ubuntu:22.04"),
    ("Ubuntu:Pro:18.04:LTS", None),
    ("Alpine:v3.19", "Alpine:v3.19"),
    ("Debian:12", "Debian:12"),
    ("Red Hat:enterprise_linux:9::appstream", "Red Hat:9"),
    ("PyPI", "PyPI"),
    ("Hackage", None),
])
def test_stored_ecosystems(raw, stored):
    assert normalize_ecosystem(raw) == stored


def test_names():
    assert normalize_name("PyPI", "Zope.Interface__x") == "zope-interface-x"
    assert normalize_name("NuGet", "Newtonsoft.Json") == "newtonsoft.json"
    assert normalize_name("npm", "@Babel/core") == "@Babel/core"
