"""chalicelib.oci is sans-I/O: it may import the standard library and itself, nothing else."""

import ast
import sys
from pathlib import Path

import chalicelib.oci

PACKAGE = Path(chalicelib.oci.__file__).parent


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_only_standard_library_imports():
    outward = {
        f"{path.name}: {module}"
        for path in sorted(PACKAGE.glob("*.py"))
        for module in _imports(path)
        if module.split(".")[0] not in sys.stdlib_module_names
    }
    assert not outward


def test_public_names_are_exported():
    for name in chalicelib.oci.__all__:
        assert hasattr(chalicelib.oci, name), name
