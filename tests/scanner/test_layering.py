"""The scanner is a library: it imports only chalicelib.oci, the store ports and the clock, never
chalice, pynamodb or boto3, and the Chalice app does not import it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_CHALICELIB = {"chalicelib.oci", "chalicelib.store.ports", "chalicelib.clock"}  # clock: pure, no AWS
FORBIDDEN_TOP = {"chalice", "pynamodb", "boto3", "botocore", "aws_lambda_powertools"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                names.add(node.module)
            elif node.level >= 2 and path.parent.name != "scanner":
                # "from ...store.ports import" inside scanner/vulndb reaches outside
                depth = len(path.relative_to(ROOT / "chalicelib").parts) - node.level
                base = ".".join(("chalicelib",) + path.relative_to(ROOT / "chalicelib").parts[:depth])
                names.add(f"{base}.{node.module}" if node.module else base)
    return names


def test_scanner_imports_only_what_it_may():
    bad = []
    for path in sorted((ROOT / "chalicelib" / "scanner").rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            outside = name.startswith("chalicelib.") and not name.startswith("chalicelib.scanner") and not any(
                name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED_CHALICELIB)
            if top in FORBIDDEN_TOP or outside:
                bad.append(f"{path.relative_to(ROOT)}: {name}")
    assert not bad


def test_importing_the_app_does_not_import_the_scanner():
    code = "import sys, app; print(any(m.startswith('chalicelib.scanner') for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_the_report_side_stays_light():
    code = ("import sys; from chalicelib.scanner import filter_report, Report; "
            "print(sorted(m for m in ('univers', 'cvss', 'cyclonedx', 'zstandard') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.stdout.strip() == "[]", result.stderr
