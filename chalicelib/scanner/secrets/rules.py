"""The secret rules. Each has literal keywords (a cheap filter before any regex runs)
and a regex whose `secret` group is what gets redacted.

Token formats are the vendors' published ones: AWS key ids (AKIA/ASIA + 16 base-32
characters), GitHub's prefixed tokens (gh[pousr]_ + 36, github_pat_ + 82), GitLab
personal access tokens (glpat-), Slack (xox?- tokens, hooks.slack.com webhooks),
Stripe live keys, Google API keys (AIza + 35), PEM private keys, JWTs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_NOT_TOKEN = rb"(?![A-Za-z0-9_])"   # a token ends where token characters stop
_TOKEN_START = rb"(?<![A-Za-z0-9_])"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    keywords: tuple[bytes, ...]      # compared case-insensitively, before the regex runs
    regex: re.Pattern[bytes]
    config_files_only: bool = False  # generic assignments: only where config lives
    near: str | None = None          # only within `window` bytes of that rule's match
    window: int = 0
    accept: Callable[[bytes], bool] | None = None   # false-positive control on the secret


def _token(pattern: bytes) -> re.Pattern[bytes]:
    return re.compile(_TOKEN_START + b"(?P<secret>" + pattern + b")" + _NOT_TOKEN)


# Values that stand for a secret rather than being one (matched on the lowered value).
_PLACEHOLDER_RE = re.compile(
    rb"^(?:.*(?:changeme|change[_-]?me|example|placeholder|dummy|sample|redacted|xxxx|\*\*\*|"
    rb"your[_-]|my[_-]?pass|<|>|\$\{|\{\{|%\(|\$\(|process\.env|os\.environ|getenv).*|"
    rb"password|secret|pass|passwd|null|none|nil|true|false|undefined|empty|string|test|"
    rb"\$[a-z_][a-z0-9_]*)$"
)
# An upper-case identifier is a reference to another setting: PASSWORD=DB_PASSWORD.
_CONSTANT_RE = re.compile(rb"[A-Z][A-Z0-9_]*")


def _not_aws_example(secret: bytes) -> bool:
    # AWS documentation's example credentials (AKIAIOSFODNN7EXAMPLE, ...EXAMPLEKEY) are
    # copied into SDKs, docs and tutorials everywhere.
    return b"EXAMPLE" not in secret


def _real_value(secret: bytes) -> bool:
    """Not a placeholder, a variable reference or a run of a few characters."""
    return (
        not _PLACEHOLDER_RE.match(secret.lower())
        and not _CONSTANT_RE.fullmatch(secret)
        and len(set(secret)) >= 4
    )


RULES: tuple[Rule, ...] = (
    Rule("aws-access-key-id", "AWS access key ID", "HIGH",
         (b"AKIA", b"ASIA", b"ABIA", b"ACCA"),
         _token(rb"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}"), accept=_not_aws_example),
    # A secret access key is 40 base64 characters with no marker of its own: only
    # believed next to a key id, or after a name that says what it is.
    Rule("aws-secret-access-key", "AWS secret access key", "CRITICAL",
         (b"AKIA", b"ASIA"),
         re.compile(rb"(?<![A-Za-z0-9/+])(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"),
         near="aws-access-key-id", window=512,
         accept=lambda s: _not_aws_example(s) and any(c.isdigit() for c in s.decode()) and any(c.isalpha() for c in s.decode())),
    Rule("aws-secret-access-key-assignment", "AWS secret access key", "CRITICAL",
         (b"secret",),
         re.compile(rb"aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
                    re.IGNORECASE),
         accept=_not_aws_example),
    Rule("github-token", "GitHub token", "CRITICAL",
         (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"),
         _token(rb"gh[pousr]_[A-Za-z0-9]{36,251}")),
    Rule("github-fine-grained-token", "GitHub fine-grained personal access token", "CRITICAL",
         (b"github_pat_",),
         _token(rb"github_pat_[A-Za-z0-9_]{82}")),
    Rule("gitlab-token", "GitLab personal access token", "CRITICAL",
         (b"glpat-",),
         _token(rb"glpat-[A-Za-z0-9_\-]{20,}")),
    Rule("slack-token", "Slack token", "HIGH",
         (b"xox",),
         _token(rb"xox[baprs]-[A-Za-z0-9]+-[A-Za-z0-9\-]{8,}")),
    Rule("slack-webhook", "Slack incoming webhook", "MEDIUM",
         (b"hooks.slack.com",),
         re.compile(rb"https://hooks\.slack\.com/(?:services|workflows)/(?P<secret>T[A-Z0-9]+/[A-Z0-9]+/[A-Za-z0-9]{16,})")),
    Rule("stripe-secret-key", "Stripe live secret or restricted key", "CRITICAL",
         (b"k_live_",),
         _token(rb"(?:sk|rk)_live_[A-Za-z0-9]{20,247}")),
    Rule("google-api-key", "Google API key", "HIGH",
         (b"AIza",),
         _token(rb"AIza[A-Za-z0-9_\-]{35}")),
    # The BEGIN line alone shows up in every library that parses PEM; a key has a body.
    Rule("private-key", "Private key", "HIGH",
         (b"PRIVATE KEY",),
         re.compile(rb"-----BEGIN [A-Z0-9 ]{0,20}PRIVATE KEY(?: BLOCK)?-----\r?\n"
                    rb"(?:[A-Za-z\-]+:[^\n]*\r?\n)*\r?\n?(?P<secret>[A-Za-z0-9+/=]{40,})")),
    Rule("jwt", "JSON Web Token", "MEDIUM",
         (b"eyJ",),
         _token(rb"eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{16,}")),
    Rule("generic-secret-assignment", "Password or secret in a configuration file", "MEDIUM",
         (b"passw", b"secret", b"api_key", b"apikey", b"token"),
         re.compile(rb"(?i)(?:password|passwd|secret|api_?key|access_?token|auth_?token)"
                    rb"[\"']?\s*[:=]\s*[\"']?(?P<secret>[^\s\"'#,;]{6,200})"),
         config_files_only=True, accept=_real_value),
)
