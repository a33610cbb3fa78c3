"""Run skopeo against a plain-HTTP registry on loopback, isolated from host config.

Every call gets an empty auth file (no credentials, never the host's), a policy
that accepts anything, an empty registries.conf, no retries and no TLS:

    run_skopeo("copy", "oci:/tmp/layout:1", "docker://127.0.0.1:5000/library/hello:1")
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SKOPEO = shutil.which("skopeo")
SKIP_REASON = "skopeo is not installed (apt-get install skopeo)"

# Flags each subcommand takes besides its positional arguments.
_TLS_FLAGS = {
    "copy": ("--src-tls-verify=false", "--dest-tls-verify=false"),
    "inspect": ("--tls-verify=false",),
    "delete": ("--tls-verify=false",),
    "list-tags": ("--tls-verify=false",),
    "login": ("--tls-verify=false",),
    "logout": (),
}


class SkopeoError(RuntimeError):
    def __init__(self, argv: list[str], returncode: int, stdout: str, stderr: str):
        tail = "\n".join(stderr.strip().splitlines()[-30:])
        super().__init__(f"skopeo exited {returncode}: {' '.join(argv)}\n{tail}")
        self.argv, self.returncode, self.stdout, self.stderr = argv, returncode, stdout, stderr


@functools.cache
def _config_dir() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="moorage-skopeo-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    (directory / "auth.json").write_text("{}")
    (directory / "policy.json").write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
    (directory / "registries.conf").write_text("")
    for sub in ("tmp", "home", "data", "config"):
        (directory / sub).mkdir()
    return directory


def skopeo_env() -> dict[str, str]:
    """Environment for skopeo: nothing from the host's container configuration.

    Besides --authfile, containers/image also reads ~/.docker/config.json and
    ~/.config/containers/auth.json, hence the private HOME. As root it keeps its
    blob-info cache (which repositories hold which blob, used to pick mount
    sources) in /var/lib/containers/cache; _CONTAINERS_ROOTLESS_UID (read by
    containers/image's rootless helper) moves it under XDG_DATA_HOME, so each test
    session starts with an empty cache and pushes are reproducible.
    """
    config = _config_dir()
    return {
        **os.environ,
        "HOME": str(config / "home"),
        "XDG_CONFIG_HOME": str(config / "config"),
        "XDG_DATA_HOME": str(config / "data"),
        "_CONTAINERS_ROOTLESS_UID": str(os.geteuid() or 1000),
        "REGISTRY_AUTH_FILE": str(config / "auth.json"),
        "CONTAINERS_REGISTRIES_CONF": str(config / "registries.conf"),
        "TMPDIR": str(config / "tmp"),
    }


def skopeo_argv(subcommand: str, *args: str, debug: bool = False) -> list[str]:
    if SKOPEO is None:
        raise RuntimeError(SKIP_REASON)
    config = _config_dir()
    argv = [SKOPEO, "--policy", str(config / "policy.json")]
    if debug:
        argv.append("--debug")
    argv.append(subcommand)
    if subcommand in _TLS_FLAGS:
        argv += ["--authfile", str(config / "auth.json"), *_TLS_FLAGS[subcommand]]
        if subcommand not in ("login", "logout"):  # those two know no retries
            argv += ["--retry-times", "0"]
    return [*argv, *args]


def run_skopeo(
    subcommand: str, *args: str, debug: bool = False, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `skopeo SUBCOMMAND [isolation flags] ARGS…`; raise SkopeoError with the
    stderr tail when it fails and `check` is set. Output is text (debug logs go to
    stderr)."""
    argv = skopeo_argv(subcommand, *args, debug=debug)
    result = subprocess.run(argv, capture_output=True, text=True, env=skopeo_env(), timeout=timeout)
    if check and result.returncode != 0:
        raise SkopeoError(argv, result.returncode, result.stdout, result.stderr)
    return result


def inspect_raw(image: str) -> bytes:
    """`skopeo inspect --raw IMAGE`: the exact manifest bytes."""
    argv = skopeo_argv("inspect", "--raw", image)
    result = subprocess.run(argv, capture_output=True, env=skopeo_env(), timeout=60)
    if result.returncode != 0:
        raise SkopeoError(argv, result.returncode, "", result.stderr.decode(errors="replace"))
    return result.stdout


def login(host: str, username: str, password: str) -> None:
    """`skopeo login` into the isolated auth file: later calls use the stored credentials."""
    argv = skopeo_argv("login", "--username", username, "--password-stdin", host)
    result = subprocess.run(argv, input=password, capture_output=True, text=True, env=skopeo_env(), timeout=60)
    if result.returncode != 0:
        raise SkopeoError(argv, result.returncode, result.stdout, result.stderr)
