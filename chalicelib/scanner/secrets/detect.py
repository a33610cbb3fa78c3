"""Which files are searched, and the search itself."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .rules import RULES, Rule

# Content that is never a secret store, or belongs to the distribution.
_SKIPPED_DIRS = (
    "usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/locale/", "usr/share/zoneinfo/",
    "usr/share/i18n/", "usr/share/mime/", "usr/share/ca-certificates/", "usr/include/", "usr/lib/locale/",
    "etc/ssl/certs/", "var/lib/dpkg/", "var/lib/apk/", "lib/apk/db/", "var/lib/rpm/", "usr/lib/sysimage/rpm/",
    "var/cache/", "proc/", "sys/", "dev/",
)
_SKIPPED_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".gif", ".ico", ".webp", ".bmp", ".svg", ".woff", ".woff2", ".ttf", ".otf",
    ".eot", ".gz", ".tgz", ".zip", ".jar", ".war", ".whl", ".egg", ".xz", ".bz2", ".zst", ".tar", ".7z",
    ".so", ".a", ".o", ".pyc", ".pyo", ".class", ".mo", ".db", ".sqlite", ".pdf", ".mp3", ".mp4", ".wasm",
    ".map", ".lock", ".sum",
)
# Third-party code ships test fixtures full of fake keys; nobody deploys those on purpose.
_THIRD_PARTY = re.compile(r"(?:^|/)(?:site-packages|dist-packages|node_modules|vendor|gems)/")
_TEST_DIR = re.compile(r"/(?:tests?|testdata|testing|__tests__|fixtures|spec|examples?)/")
_CONFIG_SUFFIXES = (
    ".env", ".ini", ".cfg", ".conf", ".config", ".cnf", ".properties", ".yaml", ".yml", ".json", ".toml",
    ".xml", ".sh", ".bash", ".npmrc", ".pypirc", ".netrc", ".pgpass", ".htpasswd", ".tfvars", ".credentials",
)
_CONFIG_NAMES = frozenset({".env", "credentials", "config", ".npmrc", ".pypirc", ".netrc", ".pgpass",
                           ".git-credentials", ".dockercfg", "Dockerfile"})
_BINARY_PROBE = 8192
_MAX_PER_FILE = 20
_CONTEXT = 40


@dataclass(frozen=True)
class SecretMatch:
    rule: Rule
    line: int
    match: str        # the matched text with the secret redacted


def wants(path: str) -> bool:
    """Whether the file at `path` is worth searching (by its name alone)."""
    if path.startswith(_SKIPPED_DIRS) or path.lower().endswith(_SKIPPED_SUFFIXES):
        return False
    return not (_THIRD_PARTY.search(path) and _TEST_DIR.search("/" + path))


def is_config_file(path: str) -> bool:
    name = path.rpartition("/")[2]
    return name in _CONFIG_NAMES or name.lower().endswith(_CONFIG_SUFFIXES) or name.startswith(".env")


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:_BINARY_PROBE]


def redact(secret: str) -> str:
    """Enough to recognise which secret it is (a prefix), never enough to use it."""
    shown = min(len(secret) // 4, 8)
    return secret[:shown] + "*" * min(len(secret) - shown, 12)


# One pass that tells whether any rule could match: most files hold no keyword at all.
_ANY_KEYWORD = re.compile(b"|".join(
    b"(?i:" + re.escape(k) + b")" if rule.ignore_case else re.escape(k)
    for rule in RULES for k in rule.keywords
))


def find_secrets(path: str, data: bytes) -> list[SecretMatch]:
    """Secrets in one text file (binary content yields nothing)."""
    if not data or is_binary(data) or not _ANY_KEYWORD.search(data):
        return []
    config = is_config_file(path)
    lower: bytes | None = None
    found: list[SecretMatch] = []
    anchors: dict[str, list[int]] = {}
    reported: set[tuple[int, int]] = set()   # one secret, one finding, whichever rule saw it first
    for rule in RULES:
        if rule.config_files_only and not config:
            continue
        if rule.ignore_case:
            lower = data.lower() if lower is None else lower
            haystack = lower
        else:
            haystack = data
        if not any(keyword in haystack for keyword in rule.keywords):
            continue
        for start, end, secret_span in _matches(rule, data, anchors):
            secret = data[secret_span[0]:secret_span[1]]
            if secret_span in reported or (rule.accept and not rule.accept(secret)):
                continue
            reported.add(secret_span)
            anchors.setdefault(rule.id, []).append(start)
            found.append(SecretMatch(rule, data.count(b"\n", 0, start) + 1, _shown(data, start, end, secret_span)))
            if len(found) >= _MAX_PER_FILE:
                return found
    return found


def _matches(rule: Rule, data: bytes, anchors: dict[str, list[int]]):
    if rule.near is None:
        for match in rule.regex.finditer(data):
            yield match.start(), match.end(), match.span("secret")
        return
    seen: set[int] = set()
    for anchor in anchors.get(rule.near, ()):
        low = max(0, anchor - rule.window)
        for match in rule.regex.finditer(data, low, anchor + rule.window):
            if match.start() not in seen:
                seen.add(match.start())
                yield match.start(), match.end(), match.span("secret")


def _shown(data: bytes, start: int, end: int, secret_span: tuple[int, int]) -> str:
    """The match (clipped) with its secret part redacted, on one line."""
    before = data[max(start, secret_span[0] - _CONTEXT):secret_span[0]]
    after = data[secret_span[1]:min(end, secret_span[1] + _CONTEXT)]
    secret = data[secret_span[0]:secret_span[1]].decode("utf-8", "replace")
    text = before.decode("utf-8", "replace") + redact(secret) + after.decode("utf-8", "replace")
    return " ".join(text.split())
