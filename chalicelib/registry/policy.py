"""Content policies: what a registry (and, overriding it key by key, a repository) asks of
the images it holds. Parsed and validated once, when saved; evaluated at push, pull and
retention time.

    {"scan_on_push": true,
     "block_pull": {"severity": "HIGH", "allowlist": ["CVE-2024-1234"],
                    "allowlist_expires_at": "2027-01-01T00:00:00Z"},
     "immutable_tags": ["v*", "release-?"],
     "retention": [{"keep_last": 10, "tags": "v*"},
                   {"untagged_older_than_days": 7},
                   {"not_pulled_for_days": 90, "tags": "*"}]}

Tag patterns are globs over the tag grammar: `*` any run of characters, `?` one character.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase

from .errors import InvalidSetting

SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")  # ascending
_KEYS = ("scan_on_push", "block_pull", "immutable_tags", "retention")
# The tag grammar ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}) with the two wildcards added.
_PATTERN = re.compile(r"[A-Za-z0-9_*?][A-Za-z0-9._*?-]{0,127}")
_VULN_ID = re.compile(r"[A-Z][A-Z0-9]{1,15}-[A-Za-z0-9._:-]{1,64}")
_MAX_PATTERNS = 20
_MAX_ALLOWLIST = 500
_MAX_RULES = 20
_MAX_DAYS = 36_500
_MAX_DOCUMENT = 32 * 1024


class PolicyInvalid(InvalidSetting):
    pass


@dataclass(frozen=True)
class BlockPull:
    severity: str
    allowlist: frozenset[str] = frozenset()
    allowlist_expires_at: datetime | None = None

    def allowed_ids(self, now: datetime) -> frozenset[str]:
        expired = self.allowlist_expires_at is not None and now >= self.allowlist_expires_at
        return frozenset() if expired else self.allowlist


@dataclass(frozen=True)
class RetentionRule:
    kind: str                 # "keep_last" | "untagged_older_than_days" | "not_pulled_for_days"
    value: int
    tags: str = "*"

    def describe(self) -> str:
        if self.kind == "keep_last":
            return f"keep the {self.value} most recent tags matching {self.tags!r}"
        if self.kind == "untagged_older_than_days":
            return f"delete untagged manifests older than {self.value} days"
        return f"expire tags matching {self.tags!r} not pulled for {self.value} days"


@dataclass(frozen=True)
class ContentPolicy:
    scan_on_push: bool = True
    block_pull: BlockPull | None = None
    immutable_tags: tuple[str, ...] = ()
    retention: tuple[RetentionRule, ...] = ()
    # Where each setting came from ("registry" or "repository"), for messages.
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def is_immutable(self, tag: str) -> str | None:
        """The pattern that makes `tag` immutable, if any."""
        return next((p for p in self.immutable_tags if fnmatchcase(tag, p)), None)

    def pull_refusal(self, name: str, digest: str, scan_summary: str | None, now: datetime) -> str | None:
        """Why pulling this manifest is refused, or None. Only scanned images can be refused."""
        if self.block_pull is None or not scan_summary:
            return None
        try:
            summary = json.loads(scan_summary)
        except ValueError:
            return None
        threshold = SEVERITIES.index(self.block_pull.severity)
        allowed = self.block_pull.allowed_ids(now)
        listed = summary.get("vulnerabilities") or {}
        blocking = [i for severity in SEVERITIES[threshold:] for i in listed.get(severity, []) if i not in allowed]
        # A summary lists at most some ids per severity; beyond them the ids are unknown, so
        # an allowlist cannot let them through.
        unlisted = [s for s in SEVERITIES[threshold:] if s in (summary.get("truncated") or ())]
        over = len(blocking) + len(unlisted)
        if not over:
            return None
        shown = ", ".join(blocking[:5]) + (" and more" if len(blocking) > 5 or unlisted else "")
        source = self.sources.get("block_pull", "registry")
        return (f"pull of {name}@{digest} is blocked: vulnerabilities of severity {self.block_pull.severity} "
                f"or higher ({shown}) exceed the {source} policy block_pull (severity {self.block_pull.severity})")


def parse_policy(document: object) -> dict:
    """A policy document (JSON object, possibly partial) validated and in canonical form."""
    if isinstance(document, (str, bytes)):
        if len(document) > _MAX_DOCUMENT:
            raise PolicyInvalid(f"a policy is at most {_MAX_DOCUMENT} bytes")
        try:
            document = json.loads(document)
        except ValueError:
            raise PolicyInvalid("a policy is a JSON object") from None
    if not isinstance(document, dict):
        raise PolicyInvalid("a policy is a JSON object")
    unknown = sorted(set(document) - set(_KEYS))
    if unknown:
        raise PolicyInvalid(f"unknown policy key {unknown[0][:64]!r}; keys: {', '.join(_KEYS)}")
    canonical: dict = {}
    for key, value in document.items():
        canonical[key] = None if value is None else _CHECKS[key](value)
    if len(json.dumps(canonical)) > _MAX_DOCUMENT:
        raise PolicyInvalid(f"a policy is at most {_MAX_DOCUMENT} bytes")
    return canonical


def effective(registry_policy: str | None, repository_policy: str | None = None) -> ContentPolicy:
    """The registry's policy with the repository's keys laid over it (a key set to null in
    the repository switches that setting off there)."""
    merged: dict = {}
    sources: dict[str, str] = {}
    for source, text in (("registry", registry_policy), ("repository", repository_policy)):
        for key, value in (json.loads(text) if text else {}).items():
            merged[key], sources[key] = value, source
    block = merged.get("block_pull")
    return ContentPolicy(
        scan_on_push=merged.get("scan_on_push", True) is not False,
        block_pull=BlockPull(block["severity"], frozenset(block.get("allowlist", ())),
                             _time(block["allowlist_expires_at"]) if block.get("allowlist_expires_at") else None)
        if block else None,
        immutable_tags=tuple(merged.get("immutable_tags") or ()),
        retention=tuple(RetentionRule(**_rule_fields(r)) for r in merged.get("retention") or ()),
        sources=sources)


# ---- validation of each key -------------------------------------------------------------

def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise PolicyInvalid("scan_on_push is true or false")
    return value


def check_pattern(pattern: object) -> str:
    if not isinstance(pattern, str) or not _PATTERN.fullmatch(pattern):
        raise PolicyInvalid(f"invalid tag pattern {str(pattern)[:64]!r}: letters, digits, '_', '.', '-', "
                            "'*' and '?', 1-128 characters, not starting with '.' or '-'")
    return pattern


def _patterns(value: object) -> list[str]:
    if not isinstance(value, list) or len(value) > _MAX_PATTERNS:
        raise PolicyInvalid(f"immutable_tags is a list of at most {_MAX_PATTERNS} tag patterns")
    return sorted(set(check_pattern(p) for p in value))


def _block_pull(value: object) -> dict:
    if not isinstance(value, dict):
        raise PolicyInvalid("block_pull is an object: {severity, allowlist, allowlist_expires_at}")
    unknown = sorted(set(value) - {"severity", "allowlist", "allowlist_expires_at"})
    if unknown:
        raise PolicyInvalid(f"unknown block_pull key {unknown[0][:64]!r}")
    severity = str(value.get("severity", "")).upper()
    if severity not in SEVERITIES:
        raise PolicyInvalid(f"block_pull.severity is one of {', '.join(SEVERITIES)}")
    allowlist = value.get("allowlist", [])
    if not isinstance(allowlist, list) or len(allowlist) > _MAX_ALLOWLIST or \
            not all(isinstance(i, str) and _VULN_ID.fullmatch(i) for i in allowlist):
        raise PolicyInvalid(f"block_pull.allowlist is a list of at most {_MAX_ALLOWLIST} vulnerability ids "
                            "(CVE-2024-1234, GHSA-xxxx-xxxx-xxxx, …)")
    block = {"severity": severity, "allowlist": sorted(set(allowlist))}
    expires = value.get("allowlist_expires_at")
    if expires is not None:
        block["allowlist_expires_at"] = _time(expires).isoformat().replace("+00:00", "Z")
    return block


def _retention(value: object) -> list[dict]:
    if not isinstance(value, list) or len(value) > _MAX_RULES:
        raise PolicyInvalid(f"retention is a list of at most {_MAX_RULES} rules")
    return [_rule(r) for r in value]


def _rule(rule: object) -> dict:
    kinds = ("keep_last", "untagged_older_than_days", "not_pulled_for_days")
    if not isinstance(rule, dict) or sum(k in rule for k in kinds) != 1 or set(rule) - {*kinds, "tags"}:
        raise PolicyInvalid("a retention rule is one of {keep_last: N, tags: PATTERN}, "
                            "{untagged_older_than_days: D}, {not_pulled_for_days: D, tags: PATTERN}")
    kind = next(k for k in kinds if k in rule)
    value = rule[kind]
    low, high = (1, 100_000) if kind == "keep_last" else (1, _MAX_DAYS)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise PolicyInvalid(f"retention {kind} is a whole number from {low} to {high}")
    if kind == "untagged_older_than_days":
        if "tags" in rule:
            raise PolicyInvalid("untagged_older_than_days takes no tag pattern")
        return {kind: value}
    return {kind: value, "tags": check_pattern(rule.get("tags", "*"))}


def _rule_fields(rule: dict) -> dict:
    kind = next(k for k in rule if k != "tags")
    return {"kind": kind, "value": rule[kind], "tags": rule.get("tags", "*")}


def _time(text: object) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise PolicyInvalid(f"not an ISO 8601 time: {str(text)[:64]!r}") from None
    if moment.tzinfo is None:
        raise PolicyInvalid("times carry a time zone (…Z)")
    return moment


_CHECKS = {"scan_on_push": _bool, "block_pull": _block_pull, "immutable_tags": _patterns, "retention": _retention}
