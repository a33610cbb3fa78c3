"""Start a registry under test as a subprocess on 127.0.0.1 and stop it again.

Targets (environment variable MOORAGE_TEST_TARGET):
  moorage       (default) `python -m chalicelib.cli serve` from the repository root
  distribution  CNCF Distribution (`docker-registry serve CONFIG`), as a reference
Set MOORAGE_TEST_HOST=127.0.0.1:PORT instead to use a registry that is already running
(with MOORAGE_TEST_USER and MOORAGE_TEST_PASSWORD of an administrator).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
DISTRIBUTION = shutil.which("docker-registry")


class RegistryStartError(RuntimeError):
    pass


@dataclass
class RunningRegistry:
    target: str  # "moorage", "distribution" or "external"
    host: str  # "127.0.0.1:PORT"
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # The administrator the server was started with (None: a registry without auth).
    username: str | None = None
    password: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True  # any status counts: 401 means a running registry too
    except OSError:
        return False
    return True


def _distribution_config(workdir: Path, port: int) -> Path:
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n  accesslog:\n    disabled: false\n"
        "storage:\n"
        f"  filesystem:\n    rootdirectory: {workdir / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    return config


def start_registry(target: str, workdir: Path, password: str | None = None,
                   env: dict[str, str] | None = None) -> RunningRegistry:
    """Start `target` with its data under `workdir`; return once GET /v2/ answers.
    `env` is added to the server's environment (e.g. MOORAGE_OIDC_PROVIDERS)."""
    external = os.environ.get("MOORAGE_TEST_HOST")
    if external:
        registry = RunningRegistry("external", external, username=os.environ.get("MOORAGE_TEST_USER"),
                                   password=os.environ.get("MOORAGE_TEST_PASSWORD"))
        if not _answers(f"{registry.url}/v2/"):
            raise RegistryStartError(f"MOORAGE_TEST_HOST={external}: GET /v2/ does not answer")
        return registry

    port = free_port()
    env, username = {**os.environ, **(env or {})}, None
    if target == "moorage":
        username, password = "admin", password or secrets.token_urlsafe(16)
        env.update(MOORAGE_ADMIN_USER=username, MOORAGE_ADMIN_PASSWORD=password)
        data_dir = workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "chalicelib.cli", "serve",
                "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    elif target == "distribution":
        if DISTRIBUTION is None:
            raise RegistryStartError("MOORAGE_TEST_TARGET=distribution needs docker-registry on PATH")
        argv = [DISTRIBUTION, "serve", str(_distribution_config(workdir, port))]
    else:
        raise RegistryStartError(f"unknown MOORAGE_TEST_TARGET {target!r} (moorage or distribution)")

    log_path = workdir / f"{target}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C semantics on stop
        )
    registry = RunningRegistry(target, f"127.0.0.1:{port}", process, log_path, username, password)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _answers(f"{registry.url}/v2/"):
        if process.poll() is not None:
            raise RegistryStartError(
                f"{' '.join(argv)} exited with {process.returncode} before answering GET /v2/:\n"
                + registry.log_tail())
        if time.monotonic() > deadline:
            stop_registry(registry)
            raise RegistryStartError(
                f"{' '.join(argv)} did not answer GET /v2/ within {READY_TIMEOUT_S:.0f} s:\n"
                + registry.log_tail())
        time.sleep(0.1)
    return registry


def stop_registry(registry: RunningRegistry) -> None:
    """SIGINT to the registry's process group (as Ctrl-C), SIGKILL after 15 s; then
    SIGKILL whatever of that group outlived its leader."""
    process = registry.process
    if process is None:
        return
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    deadline = time.monotonic() + 2
    while _signal_group(process.pid, 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True
