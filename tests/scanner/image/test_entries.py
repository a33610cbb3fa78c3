"""Tar entries: hostile names and sizes end the scan with a reason."""

from __future__ import annotations

import tarfile

import pytest

from chalicelib.scanner import Limits, ScanFailed, inventory_image
from chalicelib.scanner.image.entries import clean_path
from chalicelib.scanner.limits import DEFAULT_LIMITS
from tests.scanner.builders import entry, raw_tar, source


@pytest.mark.parametrize("name, expected", [
    ("etc/passwd", "etc/passwd"),
    ("./etc//passwd", "etc/passwd"),
    ("/etc/passwd", "etc/passwd"),   # absolute names land under the root, as containerd does
    ("./", ""),
])
def test_names_are_normalised(name, expected):
    assert clean_path(name, DEFAULT_LIMITS) == expected


@pytest.mark.parametrize("name, reason", [
    ("../../etc/passwd", "escapes the root"),
    ("usr/../../etc/shadow", "escapes the root"),
    ("a" * 5000, "characters"),
])
def test_hostile_names_fail_the_scan(name, reason):
    data = raw_tar([(entry(name), b"x")])
    with pytest.raises(ScanFailed, match=reason):
        inventory_image([source(data, "application/vnd.oci.image.layer.v1.tar")])


def test_nul_in_a_name_fails_the_scan():
    # A PAX path record can carry a NUL that a ustar name cannot.
    info = entry("placeholder")
    info.pax_headers = {"path": "etc/pass\x00wd"}
    data = raw_tar([(info, b"x")])
    with pytest.raises(ScanFailed, match="NUL"):
        inventory_image([source(data, "application/vnd.oci.image.layer.v1.tar")])


def test_symlinks_are_recorded_never_followed():
    data = raw_tar([
        (entry("etc/shadow-link", tarfile.SYMTYPE, "../../../../etc/shadow"), b""),
        (entry("app/x", tarfile.LNKTYPE, "etc/shadow-link"), b""),
    ])
    inventory = inventory_image([source(data, "application/vnd.oci.image.layer.v1.tar")])
    assert inventory.packages == () and inventory.secrets == ()


def test_entry_count_is_bounded():
    data = raw_tar([(entry(f"f{i}"), b"") for i in range(50)])
    with pytest.raises(ScanFailed, match="more than 20 files"):
        inventory_image([source(data, "application/vnd.oci.image.layer.v1.tar")], limits=Limits(max_entries=20))


def test_oversized_extended_header_is_refused():
    info = entry("a")
    info.pax_headers = {"comment": "x" * (2 * 1024 * 1024)}
    data = raw_tar([(info, b"")])
    with pytest.raises(ScanFailed, match="extended tar header"):
        inventory_image([source(data, "application/vnd.oci.image.layer.v1.tar")])


def test_garbage_after_an_entry_is_corrupt_not_the_end():
    data = raw_tar([(entry("a"), b"hello")])
    # Replace the end-of-archive blocks by a block that is not a header.
    broken = data[:1024] + b"\x01" * 512 + data[1536:]
    with pytest.raises(ScanFailed, match="corrupt tar|invalid tar header"):
        inventory_image([source(broken, "application/vnd.oci.image.layer.v1.tar")])


def test_truncated_inside_a_file():
    data = raw_tar([(entry("a"), b"x" * 5000)])
    with pytest.raises(ScanFailed, match="corrupt tar|unexpected end"):
        inventory_image([source(data[:2048], "application/vnd.oci.image.layer.v1.tar")])
