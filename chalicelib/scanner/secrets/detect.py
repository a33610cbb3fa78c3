"""Which files are searched, and the search itself."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .rules import RULES, Rule

# Content that is never a secret store.
_NEVER_DIRS = (
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
# Code someone else published: the distribution's trees and package managers' trees.
# They hold most of an image's text and almost never its owner's secrets, so only
# files named like credentials are searched there; everything else (the application,
# /etc, /root, /home, /srv, /opt, /usr/local) is searched whole.
_DISTRIBUTION_DIRS = ("usr/share/", "usr/lib/", "usr/lib64/", "usr/libexec/", "lib/", "lib64/")
_THIRD_PARTY = re.compile(r"(?:^|/)(?:site-packages|dist-packages|node_modules|vendor|gems|\.m2|\.cargo|go/pkg/mod)/")
# Their test fixtures are full of fake keys.
_TEST_DIR = re.compile(r"/(?:tests?|testdata|testing|__tests__|fixtures|spec|examples?)/")
_CREDENTIAL_NAMES = re.compile(
    r"(?:\.env(?:\..*)?|\.npmrc|\.pypirc|\.netrc|\.pgpass|\.htpasswd|\.git-credentials|\.dockercfg|credentials"
    r"|id_(?:rsa|dsa|ecdsa|ed25519)|.*\.(?:pem|key|p8|credentials))"
)
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
    if path.startswith(_NEVER_DIRS) or path.lower().endswith(_SKIPPED_SUFFIXES):
        return False
    if path.startswith(_DISTRIBUTION_DIRS) or _THIRD_PARTY.search(path):
        return bool(_CREDENTIAL_NAMES.fullmatch(path.rpartition("/")[2])) and not _TEST_DIR.search("/" + path)
    return True


def is_config_file(path: str) -> bool:
    name = path.rpartition("/")[2]
    return name in _CONFIG_NAMES or name.lower().endswith(_CONFIG_SUFFIXES) or name.startswith(".env")


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:_BINARY_PROBE]


def redact(secret: str) -> str:
    """Enough to recognise which secret it is (a prefix), never enough to use it."""
    shown = min(len(secret) // 4, 8)
    return secret[:shown] + "*" * min(len(secret) - shown, 12)


# Keyword filter: one lowered copy of the file, then plain substring searches (fast
# memory scans; one regex alternation of all keywords is several times slower).
_KEYWORDS = tuple((rule, tuple(k.lower() for k in rule.keywords)) for rule in RULES)


def find_secrets(path: str, data: bytes) -> list[SecretMatch]:
    """Secrets in one text file (binary content yields nothing)."""
    if not data or is_binary(data):
        return []
    # Generic assignments are for the application's own configuration; third-party
    # packages' JSON and YAML are full of documented example passwords.
    config = is_config_file(path) and not _THIRD_PARTY.search(path)
    lowered = data.lower()
    present: dict[bytes, bool] = {}    # rules share keywords: search each once
    rules = [
        rule for rule, keywords in _KEYWORDS
        if (config or not rule.config_files_only)
        and any(present[k] if k in present else present.setdefault(k, k in lowered) for k in keywords)
    ]
    if not rules:
        return []
    found: list[SecretMatch] = []
    anchors: dict[str, list[int]] = {}
    reported: set[tuple[int, int]] = set()   # one secret, one finding, whichever rule saw it first
    for rule in rules:
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
