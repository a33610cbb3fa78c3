"""inventory_image over real package metadata: every package found once, in the layer
that introduced it; what later layers deleted is gone, its secrets still reported."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from chalicelib.scanner import Inventory, Limits, ScanFailed, inventory_image
from chalicelib.scanner.analyzers.rfc822 import stanzas
from tests.scanner.builders import entry, raw_tar, source, sources
from tests.support.images import build_image, tar_layer

DEBIAN_OS = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'


def _package_json(name: str, version: str) -> bytes:
    return json.dumps({"name": name, "version": version, "description": f"{name} for tests", "main": "index.js",
                       "license": "MIT", "repository": {"type": "git", "url": f"https://github.com/x/{name}.git"}},
                      indent=2).encode()


def test_real_dpkg_status_and_lists(dpkg_status, dpkg_lists):
    image = build_image([tar_layer({"usr/lib/os-release": DEBIAN_OS, "var/lib/dpkg/status": dpkg_status, **dpkg_lists})])
    inventory = inventory_image(sources(image))
    installed = [s for s in stanzas(dpkg_status.decode("utf-8", "replace"))
                 if s.get("Status", "").endswith(" installed")]
    debs = [p for p in inventory.packages if p.type == "deb"]
    assert {(p.name, p.version) for p in debs} == {(s["Package"], s["Version"]) for s in installed}
    with_source = next(s for s in installed if "Source" in s)
    package = next(p for p in debs if p.name == with_source["Package"])
    assert package.source_name == with_source["Source"].split()[0]
    assert package.purl.startswith(f"pkg:deb/debian/{package.name}@")
    assert "distro=debian-12" in package.purl


def test_python_packages_owned_by_dpkg_are_reported_once(dpkg_status, dpkg_lists):
    owned = [line.strip("/") for data in dpkg_lists.values() for line in data.decode().splitlines()
             if line.startswith("/usr/lib/python3/dist-packages/") and line.endswith((".dist-info/METADATA", "/PKG-INFO"))]
    real = [p for p in owned if Path("/" + p).is_file()]
    if not real:
        pytest.skip("no Debian-packaged Python distributions on this machine")
    files = {"var/lib/dpkg/status": dpkg_status, **dpkg_lists, **{p: Path("/" + p).read_bytes() for p in real}}
    files["app/lib/site-packages/left_pad-1.0.dist-info/METADATA"] = b"Metadata-Version: 2.1\nName: left-pad\nVersion: 1.0\n"
    inventory = inventory_image([source(tar_layer(files))])
    pypi = [p for p in inventory.packages if p.type == "pypi"]
    assert [p.name for p in pypi] == ["left-pad"]


def test_language_packages_layers_and_whiteouts(venv_dist_infos):
    node = {
        "srv/app/node_modules/express/package.json": _package_json("express", "4.17.1"),
        "srv/app/node_modules/@types/node/package.json": _package_json("@types/node", "20.11.5"),
        "srv/app/node_modules/express/node_modules/qs/package.json": _package_json("qs", "6.7.0"),
        # Not installed packages: fixtures and a project's own manifest.
        "srv/app/node_modules/express/test/fixtures/package.json": _package_json("fixture", "0.0.0"),
        "srv/app/package.json": _package_json("my-app", "1.0.0"),
    }
    old_metadata = "app/venv/lib/python3.11/site-packages/Django-3.2.dist-info/METADATA"
    base = tar_layer({"etc/os-release": DEBIAN_OS, **venv_dist_infos,
                      old_metadata: b"Metadata-Version: 2.1\nName: Django\nVersion: 3.2\nLicense: BSD-3-Clause\n\n"
                                    b"Django is a high-level Python web framework.\n"})
    upgrade = tar_layer({
        # pip uninstall + install in a later layer: the old dist-info is whited out.
        old_metadata.rsplit("/", 1)[0]: None,
        "app/venv/lib/python3.11/site-packages/Django-3.2.25.dist-info/METADATA":
            b"Metadata-Version: 2.1\nName: Django\nVersion: 3.2.25\n",
        **node,
    })
    image = build_image([base, upgrade])
    inventory = inventory_image(sources(image))

    pypi = {p.name.lower(): p for p in inventory.packages if p.type == "pypi"}
    assert len([p for p in inventory.packages if p.type == "pypi"]) == len(venv_dist_infos) + 1
    assert pypi["django"].version == "3.2.25"
    assert pypi["django"].layer == image.layers[1].digest
    assert pypi["pytest"].layer == image.layers[0].digest
    npm = {p.name: p for p in inventory.packages if p.type == "npm"}
    assert {n: p.version for n, p in npm.items()} == {"express": "4.17.1", "@types/node": "20.11.5", "qs": "6.7.0"}
    assert npm["@types/node"].purl == "pkg:npm/%40types/node@20.11.5"
    assert npm["express"].licenses == ("MIT",)


def test_dpkg_package_attributed_to_the_layer_that_installed_it(dpkg_status):
    stanza_texts = dpkg_status.decode("utf-8", "replace").strip().split("\n\n")
    base, later = "\n\n".join(stanza_texts[:-1]) + "\n", "\n\n".join(stanza_texts) + "\n"
    image = build_image([tar_layer({"var/lib/dpkg/status": base.encode()}),
                         tar_layer({"var/lib/dpkg/status": later.encode()})])
    inventory = inventory_image(sources(image))
    last_name = next(iter(stanzas(stanza_texts[-1])))["Package"]
    by_layer = {p.name: p.layer for p in inventory.packages}
    assert by_layer.pop(last_name) == image.layers[1].digest
    assert set(by_layer.values()) == {image.layers[0].digest}


def test_distroless_status_d():
    files = {
        "var/lib/dpkg/status.d/libssl3": b"Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n"
                                         b"Source: openssl\n",
        "var/lib/dpkg/status.d/libssl3.md5sums": b"abc  usr/lib/x86_64-linux-gnu/libssl.so.3\n",
        "var/lib/dpkg/status.d/tzdata": b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
    }
    inventory = inventory_image([source(tar_layer(files))])
    assert [(p.name, p.source_name) for p in inventory.packages] == [("libssl3", "openssl"), ("tzdata", "tzdata")]


def test_os_release_through_a_symlink_and_a_loop():
    linked = raw_tar([(entry("usr/lib/os-release"), DEBIAN_OS),
                      (entry("etc/os-release", tarfile.SYMTYPE, "../usr/lib/os-release"), b"")])
    assert inventory_image([source(linked, "application/vnd.oci.image.layer.v1.tar")]).os.version_id == "12"
    loop = raw_tar([(entry("etc/os-release", tarfile.SYMTYPE, "os-release.d"), b""),
                    (entry("etc/os-release.d", tarfile.SYMTYPE, "os-release"), b"")])
    inventory = inventory_image([source(loop, "application/vnd.oci.image.layer.v1.tar")])
    assert inventory.os is None
    assert any("too many symlinks" in w for w in inventory.warnings)


def test_os_release_deleted_by_a_later_layer():
    image = build_image([tar_layer({"etc/os-release": DEBIAN_OS}), tar_layer({"etc/os-release": None})])
    assert inventory_image(sources(image)).os is None


def test_secrets_in_deleted_files_are_still_reported():
    token = "ghp_" + "a1B2c3D4e5" * 3 + "XyZ123"
    image = build_image([
        tar_layer({"root/.git-credentials": f"https://user:{token}@github.com\n".encode(),
                   "srv/app/settings.yaml": b"database:\n  password: Tr0ub4dor&3horse\n"}),
        tar_layer({"root/.git-credentials": None}),
    ])
    inventory = inventory_image(sources(image))
    by_rule = {s.rule_id: s for s in inventory.secrets}
    github = by_rule["github-token"]
    assert github.deleted_later and github.path == "root/.git-credentials" and github.layer == image.layers[0].digest
    assert token not in github.match and github.match.startswith("ghp_")
    assert not by_rule["generic-secret-assignment"].deleted_later
    assert by_rule["generic-secret-assignment"].line == 2


def test_secrets_in_the_image_config():
    config = {"config": {"Env": ["PATH=/usr/bin", "STRIPE_KEY=sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"]},
              "history": [{"created_by": "RUN echo hi"}]}
    inventory = inventory_image([source(tar_layer({"a.txt": b"hi"}))], config)
    assert [(s.rule_id, s.path, s.layer) for s in inventory.secrets] == [("stripe-secret-key", "<image config>", "")]


def test_binary_and_large_files_are_not_searched_for_secrets():
    key = b"AKIAIOSFODNN7EXAMPLF"
    files = {"bin/blob": b"\0\1\2" + key, "srv/big.txt": b"x" * 2000 + key}
    inventory = inventory_image([source(tar_layer(files))], limits=Limits(max_secret_file_bytes=1000))
    assert inventory.secrets == ()


def test_oversized_metadata_fails_the_scan():
    files = {"var/lib/dpkg/status": b"Package: a\nVersion: 1\n\n" * 10_000}
    with pytest.raises(ScanFailed, match=r"var/lib/dpkg/status is \d+ bytes, over the 1000-byte limit"):
        inventory_image([source(tar_layer(files))], limits=Limits(max_metadata_bytes=1000))


def test_unreadable_metadata_is_a_warning_not_a_crash():
    files = {"srv/node_modules/x/package.json": b"{not json", "srv/node_modules/y/package.json": b"[1, 2]",
             "var/lib/rpm/Packages": b"\0" * 100}
    inventory = inventory_image([source(tar_layer(files))])
    assert inventory.packages == ()
    assert any("invalid JSON" in w for w in inventory.warnings)
    assert any("Berkeley DB" in w for w in inventory.warnings)


def test_inventory_round_trips_through_json(venv_dist_infos):
    image = build_image([tar_layer({"etc/os-release": DEBIAN_OS, **dict(list(venv_dist_infos.items())[:5]),
                                    "app/.env": b"API_KEY=q8Zr2LxWv9Tn4Kp\n"})])
    inventory = inventory_image(sources(image))
    assert inventory.packages and inventory.secrets
    assert Inventory.from_json(inventory.to_json()) == inventory


def test_many_small_files_keep_memory_flat():
    # Only 8-byte keys are kept per entry, not TarInfo objects (about 1 kB each).
    import tracemalloc

    data = raw_tar([(entry(f"d{i % 100}/f{i}"), b"") for i in range(5_000)])
    tracemalloc.start()
    inventory_image([source(data, "application/vnd.oci.image.layer.v1.tar")])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1024 * 1024, peak   # about 0.3 MB; 2.5 MB when TarInfos pile up
