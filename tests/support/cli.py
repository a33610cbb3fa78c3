"""The `moorage` command run as a user runs it: a subprocess against the registry under test,
with its own $XDG_CONFIG_HOME for the stored login."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.servers import REPO_ROOT, RunningRegistry


class Cli:
    """`moorage --url REGISTRY ...` with `config` as $XDG_CONFIG_HOME and no credentials from
    the environment, so only what `moorage login` stored there counts."""

    def __init__(self, registry: RunningRegistry, config: Path):
        self.registry, self.config = registry, config

    @property
    def credentials(self) -> Path:
        return self.config / "moorage" / "credentials.json"

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("MOORAGE_USERNAME", "MOORAGE_PASSWORD")}
        env["XDG_CONFIG_HOME"] = str(self.config)
        return subprocess.run([sys.executable, "-m", "chalicelib.cli", "--url", self.registry.url, *args],
                              cwd=REPO_ROOT, input=stdin, capture_output=True, text=True, timeout=120, env=env)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, f"moorage {' '.join(args)}: {result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        return result.stdout

    def json(self, *args: str) -> object:
        return json.loads(self.ok(*args, "--output", "json"))

    def fails(self, *args: str, stdin: str | None = None) -> str:
        """The one-line error of a command that must fail."""
        result = self.run(*args, stdin=stdin)
        assert result.returncode != 0, f"moorage {' '.join(args)} succeeded: {result.stdout}"
        assert "Traceback" not in result.stderr, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("moorage: "), result.stderr
        return lines[0]

    def login(self, username: str, password: str) -> str:
        return self.ok("login", "--username", username, "--password-stdin", stdin=password + "\n")
