"""How `moorage scan --show` prints a result."""
from __future__ import annotations

from types import SimpleNamespace

from chalicelib.cli.scans import _print_result

TABLE = SimpleNamespace(output="table")


def _result(**summary) -> dict:
    return {"summary": {"status": "completed", "packages": 3, **summary}, "report": {"platforms": []}}


def test_the_summary_line_counts_by_severity_in_order(capsys):
    _print_result(TABLE, _result(total=3, fixable=1, severity_counts={"LOW": 1, "CRITICAL": 2}, db_version="v7"))
    assert capsys.readouterr().out.splitlines()[0] == (
        "3 vulnerabilities (2 critical, 1 low), 1 fixable, 0 secrets, 3 packages; vulnerability data v7")


def test_a_clean_image_has_no_empty_parentheses(capsys):
    _print_result(TABLE, _result(total=0, severity_counts={}))
    assert capsys.readouterr().out.splitlines()[0] == (
        "0 vulnerabilities, 0 fixable, 0 secrets, 3 packages; vulnerability data none")


def test_a_failed_scan_says_why(capsys):
    _print_result(TABLE, {"summary": {"status": "failed", "reason": "layer 2: truncated gzip stream"}})
    assert capsys.readouterr().out == "scan failed: layer 2: truncated gzip stream\n"
