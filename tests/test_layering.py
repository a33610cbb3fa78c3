"""Dependencies point inward (DESIGN.md): oci <- store <- registry/admin <- app.py/local;
cli is never imported by the function."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# package -> chalicelib packages it must not import
FORBIDDEN = {
    "store": {"registry", "admin", "local", "cli", "services"},
    "registry": {"admin", "local", "cli"},
    "admin": {"local", "cli"},
    "local": {"cli"},
}


def _chalicelib_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "chalicelib" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_packages_import_only_inward():
    broken = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / "chalicelib" / package).rglob("*.py")):
            bad = _chalicelib_imports(path) & forbidden
            if bad:
                broken.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not broken


def test_the_function_never_imports_the_cli_or_the_local_runtime():
    assert not _chalicelib_imports(ROOT / "app.py") & {"cli", "local"}
