"""OSV range evaluation, with univers compared through `<` and `==` only."""

from __future__ import annotations

import pytest
from univers.versions import AlpineLinuxVersion

from chalicelib.scanner.versions import evaluate


def _ranges(*events, kind="ECOSYSTEM"):
    return {"ranges": [{"type": kind, "events": list(events)}]}


def test_the_alpine_comparison_bug_is_avoided():
    # The library bug this module works around: r10 "<=" r9 as strings.
    assert AlpineLinuxVersion("1.2.3-r10") <= AlpineLinuxVersion("1.2.3-r9")
    affected = _ranges({"introduced": "0"}, {"fixed": "1.2.3-r10"})
    assert not evaluate("Alpine:v3.19", "1.2.3-r10", affected).affected
    assert not evaluate("Alpine:v3.19", "1.2.3-r11", affected).affected
    assert evaluate("Alpine:v3.19", "1.2.3-r9", affected).affected
    last = _ranges({"introduced": "0"}, {"last_affected": "1.2.3-r9"})
    assert not evaluate("Alpine:v3.19", "1.2.3-r10", last).affected
    assert evaluate("Alpine:v3.19", "1.2.3-r9", last).affected


@pytest.mark.parametrize("version, affected, fixed", [
    ("1.0.0", False, ()),
    ("1.2.0", True, ("1.2.5",)),
    ("1.2.5", False, ()),
    ("1.9.9", False, ()),
    ("2.0.0", True, ("2.1.0",)),
    ("2.1.0", False, ()),
    ("3.0.0", True, ()),     # introduced again, never fixed
])
def test_several_spans(version, affected, fixed):
    ranges = _ranges({"introduced": "1.1.0"}, {"fixed": "1.2.5"}, {"introduced": "2.0.0"}, {"fixed": "2.1.0"},
                     {"introduced": "3.0.0"})
    verdict = evaluate("PyPI", version, ranges)
    assert (verdict.affected, verdict.fixed) == (affected, fixed)


def test_events_in_any_order_and_several_ranges():
    ranges = {"ranges": [
        {"type": "ECOSYSTEM", "events": [{"fixed": "2.20.0"}, {"introduced": "0"}]},
        {"type": "ECOSYSTEM", "events": [{"introduced": "3.0.0"}, {"fixed": "3.0.1"}]},
    ]}
    assert evaluate("PyPI", "2.19.1", ranges).fixed == ("2.20.0",)
    assert evaluate("PyPI", "3.0.0", ranges).fixed == ("3.0.1",)
    assert not evaluate("PyPI", "2.25.0", ranges).affected


def test_debian_epochs_and_tildes():
    ranges = _ranges({"introduced": "0"}, {"fixed": "1:2.3-1+deb12u1"})
    assert evaluate("Debian:12", "1:2.3-1", ranges).affected
    assert evaluate("Debian:12", "2.9-1", ranges).affected          # no epoch sorts below epoch 1
    assert evaluate("Debian:12", "1:2.3-1+deb12u1~pre", ranges).affected
    assert not evaluate("Debian:12", "1:2.3-1+deb12u1", ranges).affected


def test_explicit_versions_list():
    affected = {"versions": ["4.17.1", "4.17.2"], "ranges": []}
    assert evaluate("npm", "4.17.1", affected).affected
    assert not evaluate("npm", "4.17.3", affected).affected


def test_semver_ranges_and_v_prefixes():
    ranges = _ranges({"introduced": "0"}, {"fixed": "0.7.0"}, kind="SEMVER")
    assert evaluate("Go", "0.6.0", ranges).affected
    assert evaluate("Go", "v0.6.0", ranges).affected
    assert not evaluate("Go", "0.7.0", ranges).affected
    assert evaluate("Go", "0.0.0-20210405180319-a5a99cb37ef4", ranges).affected


def test_unparseable_versions_and_git_ranges_match_nothing():
    assert not evaluate("PyPI", "not a version!", _ranges({"introduced": "0"}, {"fixed": "1.0"})).affected
    git = {"ranges": [{"type": "GIT", "events": [{"introduced": "0"}, {"fixed": "abc123"}]}]}
    assert not evaluate("PyPI", "0.1", git).affected


@pytest.mark.parametrize("ecosystem, installed, fixed", [
    ("Maven", "2.14.1", "2.15.0"),
    ("NuGet", "12.0.1", "13.0.1"),
    ("RubyGems", "2.2.3", "2.2.3.1"),
    ("Packagist", "7.4.0", "7.4.5"),
    ("crates.io", "1.6.0", "1.6.1"),
    ("Rocky Linux:9", "1:3.0.7-24.el9", "1:3.0.7-25.el9_3"),
])
def test_each_ecosystem_orders_versions(ecosystem, installed, fixed):
    ranges = _ranges({"introduced": "0"}, {"fixed": fixed})
    assert evaluate(ecosystem, installed, ranges).affected
    assert not evaluate(ecosystem, fixed, ranges).affected
