#!/usr/bin/env python3
"""Benchmark the scanner: inventory of a ~100 MB (compressed) multi-layer image built
from this machine's real package metadata, against plain gzip decompression of the
same layers on one core.

Layers (written to a temporary directory, read back as streams):
  os       var/lib/dpkg/status and info/*.list, shared libraries and text under /usr
  python   the dist-info trees and sources of this venv's site-packages
  node     a node_modules tree: package.json manifests and JavaScript-like sources
  app      the application's sources and configuration (text searched whole for
           secrets, planted fake ones among them), whiteouts of lower files

Prints a Markdown table: compressed and uncompressed sizes, gzip-only time, scan time,
throughput of each, and the scan's peak RSS (measured in a fresh child process that
only scans). Not a test: it measures, it does not assert.

    python bench/scan.py                 # ~100 MB image
    python bench/scan.py --size-mb 30    # smaller
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
CHUNK = 256 * 1024


# ---------------------------------------------------------------- building the image


class _GzipTarWriter:
    """A deterministic tar+gzip layer written straight to a file."""

    def __init__(self, path: Path):
        self._file = path.open("wb")
        self._gzip = zlib.compressobj(6, zlib.DEFLATED, 31)
        self._hash = hashlib.sha256()
        self._tar = tarfile.open(fileobj=self, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115 - closed by close()
        self.uncompressed = 0
        self.path = path

    def write(self, data: bytes) -> int:
        self.uncompressed += len(data)
        out = self._gzip.compress(data)
        self._hash.update(out)
        self._file.write(out)
        return len(data)

    def add(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        self._tar.addfile(info, io.BytesIO(data))

    def close(self) -> str:
        self._tar.close()
        tail = self._gzip.flush()
        self._hash.update(tail)
        self._file.write(tail)
        self._file.close()
        return "sha256:" + self._hash.hexdigest()


def _real_files(roots: list[Path], budget: int, prefix_from: Path | None = None) -> list[tuple[str, Path]]:
    """(layer path, real file) pairs from `roots`, up to `budget` bytes."""
    picked, used = [], 0
    for root in roots:
        for path in sorted(root.rglob("*")):
            try:
                if not path.is_file() or path.is_symlink():
                    continue
                size = path.stat().st_size
            except OSError:
                continue
            if size > 8 * MB or used + size > budget:
                continue
            base = prefix_from or Path("/")
            picked.append((str(path.relative_to(base)).lstrip("/"), path))
            used += size
            if used >= budget:
                return picked
    return picked


def _add_real(layer: _GzipTarWriter, files: list[tuple[str, Path]], rename=lambda p: p) -> None:
    for name, path in files:
        try:
            layer.add(rename(name), path.read_bytes())
        except OSError:
            continue


def build_image(directory: Path, size_mb: int) -> list[tuple[str, Path, int]]:
    """Layers as (digest, file, uncompressed size); sizes split roughly 40/35/15/10."""
    budget = size_mb * MB * 3      # uncompressed; mixed content compresses about 3:1
    layers = []

    os_layer = _GzipTarWriter(directory / "os.tar.gz")
    dpkg = Path("/var/lib/dpkg")
    os_layer.add("etc/os-release", Path("/etc/os-release").read_bytes())
    if (dpkg / "status").is_file():
        os_layer.add("var/lib/dpkg/status", (dpkg / "status").read_bytes())
        for listing in sorted((dpkg / "info").glob("*.list")):
            os_layer.add(f"var/lib/dpkg/info/{listing.name}", listing.read_bytes())
    _add_real(os_layer, _real_files([Path("/usr/lib/x86_64-linux-gnu"), Path("/usr/share/doc"), Path("/usr/share/perl"),
                                     Path("/usr/bin")], int(budget * 0.40)))
    layers.append((os_layer.close(), os_layer.path, os_layer.uncompressed))

    site = Path(sysconfig.get_paths()["purelib"])
    python_layer = _GzipTarWriter(directory / "python.tar.gz")
    _add_real(python_layer, _real_files([site], int(budget * 0.35), prefix_from=site),
              rename=lambda p: f"app/venv/lib/python3.11/site-packages/{p}")
    layers.append((python_layer.close(), python_layer.path, python_layer.uncompressed))

    node_layer = _GzipTarWriter(directory / "node.tar.gz")
    js_text = _javascript_like(site)
    rng = random.Random(7)
    written, index = 0, 0
    while written < budget * 0.15:
        name = f"pkg-{index:05d}"
        manifest = json.dumps({"name": name, "version": f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
                               "license": "MIT", "main": "lib/index.js"}, indent=2).encode()
        start = rng.randrange(0, max(1, len(js_text) - 40_000))
        source = js_text[start:start + rng.randint(2_000, 40_000)]
        node_layer.add(f"srv/app/node_modules/{name}/package.json", manifest)
        node_layer.add(f"srv/app/node_modules/{name}/lib/index.js", source)
        written += len(manifest) + len(source)
        index += 1
    layers.append((node_layer.close(), node_layer.path, node_layer.uncompressed))

    app_layer = _GzipTarWriter(directory / "app.tar.gz")
    app_layer.add("srv/app/.env", b"DATABASE_PASSWORD=Tr0ub4dor-and-3\nAWS_ACCESS_KEY_ID=AKIAQ3VZ7TLB2KXM4NPR\n")
    app_layer.add("srv/app/node_modules/.wh.pkg-00000", b"")
    app_layer.add("usr/share/doc/.wh..wh..opq", b"")
    # The application's own sources and configuration: searched whole for secrets.
    app_sources = [(name, path) for name, path in _real_files([site], int(budget * 0.10), prefix_from=site)
                   if path.suffix in (".py", ".json", ".yaml", ".txt", ".cfg", ".toml", ".js")]
    _add_real(app_layer, app_sources, rename=lambda p: f"srv/app/src/{p}")
    layers.append((app_layer.close(), app_layer.path, app_layer.uncompressed))
    return layers


def _javascript_like(site: Path) -> bytes:
    """Source text to fill node_modules: real Python sources stand in for JavaScript
    (same kind of entropy, keywords and line lengths)."""
    parts, size = [], 0
    for path in sorted(site.rglob("*.py")):
        data = path.read_bytes()
        parts.append(data)
        size += len(data)
        if size > 4 * MB:
            break
    return b"".join(parts)


# ---------------------------------------------------------------- measuring


def gunzip_seconds(layers) -> float:
    started = time.perf_counter()
    for _, path, _ in layers:
        inflate = zlib.decompressobj(31)
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                inflate.decompress(chunk)
    return time.perf_counter() - started


_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from chalicelib.scanner import LayerSource, inventory_image
layers = json.loads(sys.argv[1])
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sources = [LayerSource(d, "application/vnd.oci.image.layer.v1.tar+gzip", (lambda p=p: open(p, "rb"))) for d, p in layers]
started = time.perf_counter()
inventory = inventory_image(sources)
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "baseline_kb": baseline,
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "packages": len(inventory.packages), "secrets": len(inventory.secrets),
                  "types": sorted({{p.type for p in inventory.packages}}), "warnings": len(inventory.warnings)}}))
"""


def scan_in_child(layers) -> dict:
    argument = json.dumps([(digest, str(path)) for digest, path, _ in layers])
    result = subprocess.run([sys.executable, "-c", _CHILD.format(root=str(REPO_ROOT)), argument],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=100, help="target compressed image size (default 100)")
    parser.add_argument("--runs", type=int, default=3, help="scan runs; the best is shown (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="moorage-bench-scan-") as tmp:
        started = time.perf_counter()
        layers = build_image(Path(tmp), args.size_mb)
        built = time.perf_counter() - started
        compressed = sum(path.stat().st_size for _, path, _ in layers)
        uncompressed = sum(size for _, _, size in layers)
        gunzip = min(gunzip_seconds(layers) for _ in range(args.runs))
        runs = [scan_in_child(layers) for _ in range(args.runs)]
        best = min(runs, key=lambda r: r["seconds"])
        peak = max(r["peak_kb"] for r in runs)

    print(f"Image: {len(layers)} layers, {compressed / MB:.1f} MB gzip, {uncompressed / MB:.1f} MB tar "
          f"(built in {built:.1f} s); {best['packages']} packages ({', '.join(best['types'])}), "
          f"{best['secrets']} secrets, {best['warnings']} warnings\n")
    rows = [
        ("gzip decompression only (1 core)", gunzip, None),
        ("inventory_image (1 core)", best["seconds"], peak),
    ]
    print("| what | seconds | MB/s (tar) | MB/s (gzip) | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, seconds, rss in rows:
        rss_text = f"{rss / 1024:.0f} MB (baseline {best['baseline_kb'] / 1024:.0f} MB)" if rss else "-"
        print(f"| {name} | {seconds:.2f} | {uncompressed / MB / seconds:.0f} | {compressed / MB / seconds:.0f} "
              f"| {rss_text} |")
    print(f"\nscan / gzip time: {best['seconds'] / gunzip:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
