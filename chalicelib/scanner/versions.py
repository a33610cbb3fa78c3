"""Is an installed version affected by an OSV `affected` entry?

OSV events are evaluated as the schema describes: sorted, each `introduced` opens an
affected span, each `fixed` closes it (the fixed version is not affected), each
`last_affected` closes it after that version. Only `<` and `==` of univers versions
are used: univers' Alpine `<=` and `>=` fall back to comparing strings (so
"1.2.3-r10" <= "1.2.3-r9"), which would turn fixed versions into vulnerable ones."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from univers.versions import InvalidVersion, Version

from .ecosystems import version_class


class UnparseableVersion(ValueError):
    pass


@dataclass(frozen=True)
class Verdict:
    affected: bool
    fixed: tuple[str, ...] = ()      # fixed versions of the spans that hold the version


@lru_cache(maxsize=65536)
def _parse(cls: type[Version], text: str) -> Version:
    try:
        return cls(text)
    except (InvalidVersion, ValueError, TypeError, AttributeError) as error:
        raise UnparseableVersion(f"{text!r} is not a {cls.__name__}") from error


def _at_least(installed: Version, bound: Version) -> bool:
    return not installed < bound


def _after(installed: Version, bound: Version) -> bool:
    return bound < installed


def evaluate(ecosystem: str, installed: str, affected: dict[str, Any]) -> Verdict:
    """`affected` holds "ranges" (OSV ranges) and "versions" (explicit list)."""
    explicit = installed in (affected.get("versions") or ())
    fixed: list[str] = []
    in_range = False
    for range_ in affected.get("ranges") or ():
        kind = range_.get("type", "ECOSYSTEM")
        if kind not in ("ECOSYSTEM", "SEMVER"):
            continue          # GIT ranges name commits, not versions
        cls = version_class(ecosystem, kind)
        try:
            span_fixed = _evaluate_range(_parse(cls, _bare(installed, kind)), cls, range_.get("events") or (), kind)
        except UnparseableVersion:
            continue
        if span_fixed is not None:
            in_range = True
            fixed.extend(span_fixed)
    return Verdict(explicit or in_range, tuple(dict.fromkeys(fixed)))


def _bare(version: str, kind: str) -> str:
    # SEMVER ranges in OSV carry no "v" prefix; some installed versions do.
    return version.removeprefix("v") if kind == "SEMVER" else version


def _evaluate_range(installed: Version, cls: type[Version], events, kind: str) -> list[str] | None:
    """The fixed versions closing the span that holds `installed` (possibly none),
    or None when the range does not hold it."""
    parsed = []
    for event in events:
        for name in ("introduced", "fixed", "last_affected"):
            value = event.get(name)
            if isinstance(value, str):
                if name == "introduced" and value == "0":
                    parsed.append((None, name, value))
                else:
                    parsed.append((_parse(cls, _bare(value, kind)), name, value))
    # "0" first, then by version; at equal versions `fixed` closes before `introduced` opens.
    order = {"fixed": 0, "last_affected": 1, "introduced": 2}
    parsed.sort(key=_SortKey.of(order))
    affected = False
    closing: list[str] = []
    for bound, name, text in parsed:
        if name == "introduced":
            if bound is None or _at_least(installed, bound):
                affected = True
                closing = []
        elif name == "fixed":
            if _at_least(installed, bound):
                affected = False
            elif affected and not closing:
                closing.append(text)
        elif name == "last_affected" and _after(installed, bound):
            affected = False
    if not affected:
        return None
    return closing


class _SortKey:
    """Sorting by univers versions with `<` only (see the module comment)."""

    __slots__ = ("bound", "rank")

    def __init__(self, bound: Version | None, rank: int):
        self.bound, self.rank = bound, rank

    @staticmethod
    def of(order: dict[str, int]):
        return lambda event: _SortKey(event[0], order[event[1]])

    def __lt__(self, other: _SortKey) -> bool:
        if self.bound is None or other.bound is None:
            return (self.bound is None and other.bound is not None) or (
                self.bound is other.bound and self.rank < other.rank)
        if self.bound < other.bound:
            return True
        if other.bound < self.bound:
            return False
        return self.rank < other.rank
