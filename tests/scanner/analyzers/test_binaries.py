"""Go build info and cargo-auditable data found in executables as they stream by."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from chalicelib.scanner import inventory_image
from chalicelib.scanner.analyzers.binaries import BinaryScan, parse_go_build_info
from chalicelib.scanner.collect import _CHUNK, _HEAD
from tests.scanner.builders import auditable_blob, fake_elf, go_build_info, source
from tests.support.images import tar_layer

MODINFO = (
    "path\texample.com/server\n"
    "mod\texample.com/server\t(devel)\t\n"
    "dep\tgithub.com/gin-gonic/gin\tv1.7.0\th1:abc=\n"
    "dep\tgolang.org/x/net\tv0.0.0-20210405180319-a5a99cb37ef4\th1:def=\n"
    "dep\tgithub.com/old/lib\tv1.0.0\t\n"
    "=>\tgithub.com/fork/lib\tv1.0.1\th1:ghi=\n"
    "dep\tgithub.com/local/lib\tv0.1.0\t\n"
    "=>\t../lib\t\t\n"
    "build\t-compiler=gc\n"
)
# The collector reads a head, then chunks (collect.py): put both blobs across a boundary.


def _names(packages):
    return [(p.type, p.name, p.version) for p in packages]


def test_go_build_info_across_chunk_boundaries_in_an_image():
    crates = [{"name": "smallvec", "version": "1.6.0", "source": "crates.io"},
              {"name": "server", "version": "0.1.0", "source": "local", "root": True}]
    binary = fake_elf((_HEAD - 7, go_build_info("go1.20.3", MODINFO)),
                      (_HEAD + _CHUNK - 11, auditable_blob(crates)), size=1024 * 1024)
    inventory = inventory_image([source(tar_layer({"usr/local/bin/server": binary}))])
    assert _names(inventory.packages) == [
        ("cargo", "server", "0.1.0"), ("cargo", "smallvec", "1.6.0"),
        ("golang", "github.com/fork/lib", "1.0.1"), ("golang", "github.com/gin-gonic/gin", "1.7.0"),
        ("golang", "golang.org/x/net", "0.0.0-20210405180319-a5a99cb37ef4"), ("golang", "stdlib", "1.20.3"),
    ]
    gin = next(p for p in inventory.packages if p.name == "github.com/gin-gonic/gin")
    assert gin.purl == "pkg:golang/github.com/gin-gonic/gin@v1.7.0" and gin.path == "usr/local/bin/server"


def test_go_versions_with_experiments_and_old_binaries():
    packages, _ = parse_go_build_info(go_build_info("go1.22.1 X:boringcrypto", ""))
    assert _names(packages) == [("golang", "stdlib", "1.22.1")]
    old = bytearray(go_build_info("go1.16", MODINFO))
    old[15] = 0    # pointer-format header of Go < 1.18
    assert parse_go_build_info(bytes(old)) == ([], ["Go binary built before Go 1.18: its module list is not read"])


def test_plain_executables_declare_nothing():
    scan = BinaryScan()
    scan.feed(fake_elf(size=300_000))
    assert scan.finish().packages == ()


def test_auditable_data_at_the_very_end():
    blob = auditable_blob([{"name": "regex", "version": "1.5.4"}])
    scan = BinaryScan()
    scan.feed(fake_elf(size=100_000) + blob)
    assert _names(scan.finish().packages) == [("cargo", "regex", "1.5.4")]


@pytest.mark.skipif(shutil.which("go") is None, reason="the go toolchain is not installed on this machine")
def test_a_real_go_binary(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/hello\n\ngo 1.20\n")
    (tmp_path / "main.go").write_text('package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n')
    subprocess.run(["go", "build", "-o", "hello", "."], cwd=tmp_path, check=True, capture_output=True)
    version = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    inventory = inventory_image([source(tar_layer({"bin/hello": (tmp_path / "hello").read_bytes()}))])
    assert ("golang", "stdlib", version.removeprefix("go").split()[0]) in _names(inventory.packages)
