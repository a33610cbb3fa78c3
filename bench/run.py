#!/usr/bin/env python3
"""Benchmark moorage against CNCF Distribution (docker-registry 2.8.2) on this machine.

Prints a Markdown table: skopeo push/pull times (~50 MB and 256 MiB single-layer
images), manifest HEAD/GET requests per second under 32 concurrent connections
(ab -k), the server's peak RSS during the 256 MiB push, and `import app` time.
Both registries are started here, on 127.0.0.1, with data in temporary
directories that are removed afterwards.

    python bench/run.py                      # full run (~2 minutes on an idle machine)
    python bench/run.py --quick              # smaller images, 1 run each, short loads
    python bench/run.py --only moorage       # one target (ratios then n/a)

Needs: skopeo, docker-registry (Debian package docker-registry) and ab
(Debian package apache2-utils) on PATH. Not a test: it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.support.images import build_image, random_layer, write_oci_layout  # noqa: E402

SKOPEO = shutil.which("skopeo")
DISTRIBUTION = shutil.which("docker-registry")
AB = shutil.which("ab")
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
TARGETS = ("moorage", "distribution")


@dataclass
class Config:
    small_bytes: int
    big_bytes: int
    small_runs: int
    big_runs: int
    load_seconds: int
    connections: int
    import_runs: int
    quick: bool


FULL = Config(small_bytes=50_000_000, big_bytes=256 << 20, small_runs=3, big_runs=3,
              load_seconds=10, connections=32, import_runs=5, quick=False)
QUICK = Config(small_bytes=5_000_000, big_bytes=20 << 20, small_runs=1, big_runs=1,
               load_seconds=3, connections=32, import_runs=1, quick=True)


class StepError(Exception):
    """A measurement failed; its message goes into the table cell."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---- servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


@dataclass
class Server:
    target: str
    workdir: Path
    port: int = 0
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    # moorage requires a login (its administrator, created at start); Distribution runs without auth.
    username: str | None = None
    password: str | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def start(self) -> None:
        self.port = free_port()
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if self.target == "moorage":
            self.username, self.password = "bench", secrets.token_urlsafe(16)
            env.update(MOORAGE_ADMIN_USER=self.username, MOORAGE_ADMIN_PASSWORD=self.password)
            argv = [sys.executable, "-m", "chalicelib.cli", "serve", "--host", "127.0.0.1",
                    "--port", str(self.port), "--data-dir", str(data)]
        else:
            if DISTRIBUTION is None:
                raise StepError("docker-registry not on PATH (apt-get install docker-registry)")
            config = self.workdir / "config.yml"
            config.write_text(
                "version: 0.1\n"
                "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
                "storage:\n"
                f"  filesystem:\n    rootdirectory: {data}\n"
                "  delete:\n    enabled: true\n"
                f"http:\n  addr: 127.0.0.1:{self.port}\n")
            argv = [DISTRIBUTION, "serve", str(config)]
        self.log_path = self.workdir / f"{self.target}.log"
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not answers(f"http://{self.host}/v2/"):
            if self.process.poll() is not None:
                raise StepError(f"{self.target} exited with {self.process.returncode}: {self.log_tail(5)}")
            if time.monotonic() > deadline:
                self.stop()
                raise StepError(f"{self.target} not ready within {READY_TIMEOUT_S:.0f} s")
            time.sleep(0.1)

    @property
    def creds(self) -> str | None:
        """skopeo's --src-creds/--dest-creds value, when the server wants a login."""
        return f"{self.username}:{self.password}" if self.username else None

    def pull_authorization(self, repository: str) -> str | None:
        """An Authorization header value for pulling `repository`, as a docker client gets one:
        follow the 401 challenge of GET /v2/ to the token realm with Basic credentials."""
        if not self.username:
            return None
        try:
            urllib.request.urlopen(f"http://{self.host}/v2/", timeout=10).close()
            return None  # no challenge: no auth
        except urllib.error.HTTPError as error:
            challenge = error.headers.get("WWW-Authenticate", "")
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        query = urllib.parse.urlencode({"service": params.get("service", ""),
                                        "scope": f"repository:{repository}:pull"})
        basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        request = urllib.request.Request(f"{params['realm']}?{query}", headers={"Authorization": f"Basic {basic}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return f"Bearer {json.load(response)['token']}"

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            # Ctrl-C semantics: SIGINT to the leader only; it stops its own children.
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log(f"{self.target} did not stop within {STOP_TIMEOUT_S:.0f} s; killing")
                _killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        # Anything of its process group that outlived the leader.
        deadline = time.monotonic() + 5
        while _killpg(process.pid, 0) and time.monotonic() < deadline:
            time.sleep(0.1)
        _killpg(process.pid, signal.SIGKILL)
        self.process = None


def _killpg(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


# ---- RSS sampling ---------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # comm may hold spaces and parentheses: the fields start after the last ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def _tree(pid: int) -> list[int]:
    children, out, todo = _children_map(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of pid's tree."""
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Every 50 ms: VmRSS of the root process and the sum over its process tree; keeps maxima."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid, self.interval = pid, interval
        self.peak_tree_kib = 0
        self.peak_root_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _tree(self.pid)
            root = _rss_kib(self.pid)
            total = root + sum(_rss_kib(p) for p in pids if p != self.pid)
            self.peak_root_kib = max(self.peak_root_kib, root)
            self.peak_tree_kib = max(self.peak_tree_kib, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# ---- other load on the machine ---------------------------------------------------------------


class CpuMeter:
    """CPU used on the whole machine minus this script and its (reaped) children, in cores.

    Other work on a 2-core machine skews every number here, so the report says how much there was.
    """

    def __init__(self):
        self._start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(x) for x in fields]
        idle = ticks[3] + ticks[4]  # idle + iowait
        busy = (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # user..steal
        t = os.times()
        return time.monotonic(), busy, t.user + t.system + t.children_user + t.children_system

    def other_cores(self) -> float:
        now, busy, ours = self._sample()
        t0, busy0, ours0 = self._start
        return max(0.0, (busy - busy0) - (ours - ours0)) / max(now - t0, 1e-9)


# ---- skopeo ---------------------------------------------------------------------------------


def skopeo_copy(src: str, dest: str, scratch: Path, timeout: float, src_creds: str | None = None,
                dest_creds: str | None = None) -> float:
    """One `skopeo copy` with its own HOME, auth file and blob-info cache; returns seconds."""
    if SKOPEO is None:
        raise StepError("skopeo not on PATH")
    config = Path(tempfile.mkdtemp(prefix="skopeo-", dir=scratch))
    try:
        (config / "auth.json").write_text("{}")
        (config / "policy.json").write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
        (config / "registries.conf").write_text("")
        for sub in ("tmp", "home", "data", "config"):
            (config / sub).mkdir()
        env = {
            **os.environ,
            "HOME": str(config / "home"),
            "XDG_CONFIG_HOME": str(config / "config"),
            "XDG_DATA_HOME": str(config / "data"),
            # containers/image keeps root's blob-info cache in /var/lib/containers/cache;
            # as "rootless" it uses XDG_DATA_HOME, fresh per run: nothing is skipped.
            "_CONTAINERS_ROOTLESS_UID": str(os.geteuid() or 1000),
            "REGISTRY_AUTH_FILE": str(config / "auth.json"),
            "CONTAINERS_REGISTRIES_CONF": str(config / "registries.conf"),
            "TMPDIR": str(config / "tmp"),
        }
        argv = [SKOPEO, "--policy", str(config / "policy.json"), "copy",
                "--authfile", str(config / "auth.json"), "--retry-times", "0",
                "--src-tls-verify=false", "--dest-tls-verify=false"]
        if src_creds:
            argv += ["--src-creds", src_creds]
        if dest_creds:
            argv += ["--dest-creds", dest_creds]
        argv += [src, dest]
        started = time.perf_counter()
        try:
            result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise StepError(f"skopeo timed out after {timeout:.0f} s") from None
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            tail = " ".join(result.stderr.strip().splitlines()[-2:])
            raise StepError(f"skopeo exited {result.returncode}: {tail[-300:]}")
        return elapsed
    finally:
        shutil.rmtree(config, ignore_errors=True)


# ---- ab (ApacheBench) ------------------------------------------------------------------------


@dataclass
class LoadResult:
    rps: float
    non2xx: int
    failed: int
    keepalive: int
    complete: int
    p50_ms: float
    p99_ms: float


def ab_load(url: str, method: str, seconds: int, connections: int, authorization: str | None = None) -> LoadResult:
    """`ab -k -c N -t S` (HEAD with -i): a C load generator, one thread, HTTP/1.0 keep-alive."""
    if AB is None:
        raise StepError("ab not on PATH (apt-get install apache2-utils)")
    # -t implies -n 50000; a larger -n after it lets the time limit decide.
    argv = [AB, "-k", "-c", str(connections), "-t", str(seconds), "-n", "100000000", "-s", "30",
            "-H", f"Accept: {MANIFEST_TYPE}"]
    if authorization:
        argv += ["-H", f"Authorization: {authorization}"]
    if method == "HEAD":
        argv.append("-i")
    argv.append(url)
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 90)
    except subprocess.TimeoutExpired:
        raise StepError("ab did not finish") from None
    out = result.stdout

    def grab(pattern: str, default: str | None = None) -> str:
        match = re.search(pattern, out, re.MULTILINE)
        if match:
            return match.group(1)
        if default is not None:
            return default
        raise StepError(f"ab exited {result.returncode}: {(out + result.stderr).strip()[-300:]}")

    return LoadResult(
        rps=float(grab(r"^Requests per second:\s+([\d.]+)")),
        complete=int(grab(r"^Complete requests:\s+(\d+)")),
        failed=int(grab(r"^Failed requests:\s+(\d+)")),
        non2xx=int(grab(r"^Non-2xx responses:\s+(\d+)", "0")),
        keepalive=int(grab(r"^Keep-Alive requests:\s+(\d+)", "0")),
        p50_ms=float(grab(r"^\s+50%\s+(\d+)", "nan")),
        p99_ms=float(grab(r"^\s+99%\s+(\d+)", "nan")),
    )


def http_status(method: str, url: str, accept: str = MANIFEST_TYPE, authorization: str | None = None) -> int:
    headers = {"Accept": accept, **({"Authorization": authorization} if authorization else {})}
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# ---- measurements ---------------------------------------------------------------------------


@dataclass
class Images:
    small_layout: Path
    big_layout: Path
    small_bytes: int
    big_bytes: int


def make_images(cfg: Config, scratch: Path) -> Images:
    log(f"building images ({cfg.small_bytes / 1e6:.0f} MB and {cfg.big_bytes / 2**20:.0f} MiB layers)")
    small = build_image([random_layer(cfg.small_bytes, seed=50)])
    small_layout = write_oci_layout(scratch / "layout-small", {"latest": small})
    small_size = sum(b.size for b in small.all_blobs())
    del small
    big = build_image([random_layer(cfg.big_bytes, seed=256)])
    big_layout = write_oci_layout(scratch / "layout-big", {"latest": big})
    big_size = sum(b.size for b in big.all_blobs())
    del big
    return Images(small_layout, big_layout, small_size, big_size)


Cell = Any  # a number, a string, or a StepError


@dataclass
class TargetResults:
    cells: dict[str, Cell] = field(default_factory=dict)
    # CPU seconds the server's process tree used per push or pull, or per request under load:
    # unlike wall-clock times, barely moved by other work on the machine.
    cpu: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    other_cores: float | None = None


def measure(results: TargetResults, key: str, fn: Callable[[], Any]) -> Any:
    try:
        value = fn()
    except StepError as error:
        log(f"  {key}: FAILED: {error}")
        results.cells[key] = error
        return None
    except Exception as error:  # noqa: BLE001 - any failure becomes a table cell
        log(f"  {key}: FAILED:\n{traceback.format_exc()}")
        results.cells[key] = StepError(f"{type(error).__name__}: {error}")
        return None
    results.cells[key] = value
    log(f"  {key}: {value}")
    return value


def run_target(target: str, cfg: Config, images: Images, scratch: Path, tag: str) -> TargetResults:
    results = TargetResults()
    meter = CpuMeter()
    workdir = Path(tempfile.mkdtemp(prefix=f"{target}-", dir=scratch))
    server = Server(target, workdir)
    log(f"starting {target}")
    try:
        server.start()
    except Exception as error:  # noqa: BLE001
        for key in ROW_KEYS:
            results.cells[key] = error if isinstance(error, StepError) else StepError(str(error))
        shutil.rmtree(workdir, ignore_errors=True)
        return results
    try:
        base = f"docker://{server.host}/library"
        timeout_small = 300
        timeout_big = 900

        def pushes(layout: Path, name: str, runs: int, timeout: float,
                   sampler_pid: int | None = None) -> tuple[list[float], str]:
            times, last = [], ""
            for i in range(runs):
                repo = f"{name}-{tag}-{i}"
                if sampler_pid is not None:
                    with RssSampler(sampler_pid) as sampler:
                        times.append(skopeo_copy(f"oci:{layout}:latest", f"{base}/{repo}:1", workdir, timeout,
                                             dest_creds=server.creds))
                    rss_tree.append(sampler.peak_tree_kib)
                    rss_root.append(sampler.peak_root_kib)
                else:
                    times.append(skopeo_copy(f"oci:{layout}:latest", f"{base}/{repo}:1", workdir, timeout,
                                             dest_creds=server.creds))
                last = repo
            return times, last

        def pulls(repo: str, runs: int, timeout: float) -> list[float]:
            times = []
            for i in range(runs):
                out = workdir / f"pull-{i}"
                try:
                    times.append(skopeo_copy(f"{base}/{repo}:1", f"oci:{out}:latest", workdir, timeout,
                                             src_creds=server.creds))
                finally:
                    shutil.rmtree(out, ignore_errors=True)
            return times

        rss_tree: list[int] = []
        rss_root: list[int] = []
        small_repo: list[str] = []
        big_repo: list[str] = []

        def push_small():
            times, repo = pushes(images.small_layout, "bench50", cfg.small_runs, timeout_small)
            small_repo.append(repo)
            return statistics.median(times)

        def pull_small():
            if not small_repo:
                raise StepError("no image pushed")
            return statistics.median(pulls(small_repo[0], cfg.small_runs, timeout_small))

        def push_big():
            pid = server.process.pid if server.process else None
            times, repo = pushes(images.big_layout, "bench256", cfg.big_runs, timeout_big, pid)
            big_repo.append(repo)
            return statistics.median(times)

        def pull_big():
            if not big_repo:
                raise StepError("no image pushed")
            return statistics.median(pulls(big_repo[0], cfg.big_runs, timeout_big))

        def with_cpu(key: str, fn: Callable[[], Any], per: Callable[[Any], float]) -> Callable[[], Any]:
            def run() -> Any:
                pid = server.process.pid if server.process else None
                before = tree_cpu_s(pid) if pid else 0.0
                value = fn()
                if pid:
                    results.cpu[key] = (tree_cpu_s(pid) - before) / max(per(value), 1)
                return value
            return run

        small_runs = lambda _: cfg.small_runs  # noqa: E731
        big_runs = lambda _: cfg.big_runs  # noqa: E731
        push_small = with_cpu("push_small", push_small, small_runs)
        pull_small = with_cpu("pull_small", pull_small, small_runs)
        push_big = with_cpu("push_big", push_big, big_runs)
        pull_big = with_cpu("pull_big", pull_big, big_runs)
        measure(results, "push_small", push_small)
        measure(results, "pull_small", pull_small)
        measure(results, "push_big", push_big)
        if rss_tree:
            results.cells["rss_tree"] = max(rss_tree) / 1024
            results.cells["rss_root"] = max(rss_root) / 1024
        else:
            results.cells["rss_tree"] = results.cells["rss_root"] = StepError("push failed")
        measure(results, "pull_big", pull_big)

        def load(method: str) -> Callable[[], LoadResult]:
            def run() -> LoadResult:
                if not small_repo:
                    raise StepError("no image pushed")
                url = f"http://{server.host}/v2/library/{small_repo[0]}/manifests/1"
                # A fresh token per load: access tokens live minutes.
                authorization = server.pull_authorization(f"library/{small_repo[0]}")
                status = http_status(method, url, authorization=authorization)
                if not 200 <= status < 300:
                    raise StepError(f"{method} {url} -> {status}")
                return ab_load(url, method, cfg.load_seconds, cfg.connections, authorization)
            return run

        per_request = lambda value: value.complete  # noqa: E731
        measure(results, "head_rps", with_cpu("head_rps", load("HEAD"), per_request))
        measure(results, "get_rps", with_cpu("get_rps", load("GET"), per_request))
        if server.process is not None and server.process.poll() is not None:
            results.notes.append(f"{target} exited early ({server.process.returncode}): {server.log_tail(5)}")
    finally:
        log(f"stopping {target}")
        try:
            server.stop()
        except Exception as error:  # noqa: BLE001
            results.notes.append(f"stopping {target} failed: {error}")
        shutil.rmtree(workdir, ignore_errors=True)
        results.other_cores = meter.other_cores()
        log(f"  other processes used {results.other_cores:.2f} cores meanwhile")
    return results


def import_app_time(runs: int) -> float:
    code = "import time; t=time.perf_counter(); import app; print(time.perf_counter()-t)"
    times = []
    for _ in range(runs):
        result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0:
            raise StepError(f"import app failed: {result.stderr.strip().splitlines()[-1:]}")
        times.append(float(result.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


# ---- table ----------------------------------------------------------------------------------

ROW_KEYS = ("push_small", "pull_small", "push_big", "pull_big", "head_rps", "get_rps",
            "rss_tree", "rss_root")


def fmt(value: Cell, kind: str, cpu: float | None = None) -> str:
    text = _fmt(value, kind)
    if cpu is None or isinstance(value, Exception) or value is None:
        return text
    return f"{text}; server CPU {cpu * 1000:.2f} ms/req" if kind == "rps" else f"{text} (server CPU {cpu:.2f} s)"


def _fmt(value: Cell, kind: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, Exception):
        text = str(value).replace("|", "\\|").replace("\n", " ")
        return f"error: {text[:160]}"
    if kind == "s":
        return f"{value:.2f} s"
    if kind == "ms":
        return f"{value * 1000:.0f} ms"
    if kind == "mib":
        return f"{value:.0f} MiB"
    if kind == "rps":
        assert isinstance(value, LoadResult)
        extra = f", {value.failed} failed" if value.failed else ""
        return (f"{value.rps:,.0f} req/s ({value.non2xx} non-2xx{extra}; "
                f"p50 {value.p50_ms:.0f} ms, p99 {value.p99_ms:.0f} ms)")
    return str(value)


def number(value: Cell) -> float | None:
    if isinstance(value, LoadResult):
        return value.rps
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def ratio(a: Cell, b: Cell) -> str:
    x, y = number(a), number(b)
    if x is None or y is None or y == 0:
        return "n/a"
    return f"{x / y:.2f}×"


def render(cfg: Config, images: Images, results: dict[str, TargetResults], import_cell: Cell,
           targets: list[str]) -> str:
    small = f"{images.small_bytes / 1e6:.0f} MB"
    big = f"{images.big_bytes / 2**20:.0f} MiB"
    rows = [
        (f"skopeo push, {small} image (median of {cfg.small_runs})", "push_small", "s", "lower"),
        (f"skopeo pull, {small} image (median of {cfg.small_runs})", "pull_small", "s", "lower"),
        (f"skopeo push, {big} image (median of {cfg.big_runs})", "push_big", "s", "lower"),
        (f"skopeo pull, {big} image (median of {cfg.big_runs})", "pull_big", "s", "lower"),
        (f"manifest HEAD, {cfg.connections} conns, {cfg.load_seconds} s (ab -k)", "head_rps", "rps", "higher"),
        (f"manifest GET, {cfg.connections} conns, {cfg.load_seconds} s (ab -k)", "get_rps", "rps", "higher"),
        (f"peak RSS during {big} push, server + children", "rss_tree", "mib", "lower"),
        (f"peak RSS during {big} push, gateway/server process alone", "rss_root", "mib", "lower"),
    ]
    empty = TargetResults()
    m = results.get("moorage", empty).cells
    d = results.get("distribution", empty).cells
    lines = ["| measurement | moorage | distribution 2.8.2 | moorage / distribution |",
             "| --- | --- | --- | --- |"]
    for label, key, kind, _better in rows:
        mc = m.get(key) if "moorage" in targets else None
        dc = d.get(key) if "distribution" in targets else None
        mcpu = results.get("moorage", empty).cpu.get(key) if "moorage" in targets else None
        dcpu = results.get("distribution", empty).cpu.get(key) if "distribution" in targets else None
        lines.append(f"| {label} | {fmt(mc, kind, mcpu)} | {fmt(dc, kind, dcpu)} | {ratio(mc, dc)} |")
    ic = import_cell if "moorage" in targets else None
    lines.append(f"| `import app` (median of {cfg.import_runs}) | {fmt(ic, 'ms')} | n/a | n/a |")
    return "\n".join(lines)


def machine_header() -> str:
    def version(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except Exception as error:  # noqa: BLE001
            return f"unavailable ({error})"

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return "\n".join([
        f"- nproc: {os.cpu_count()} ({cpu}), memory {mem_gib:.0f} GiB, {platform.system()} {platform.release()}",
        f"- python: {platform.python_version()} ({sys.executable})",
        f"- skopeo: {version([SKOPEO, '--version']) if SKOPEO else 'not installed'}",
        f"- distribution: {version([DISTRIBUTION, '--version']) if DISTRIBUTION else 'not installed'}",
        f"- ab: {version([AB, '-V']) if AB else 'not installed'}",
        f"- load average when the report was written: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small images, one run each, short loads")
    parser.add_argument("--only", choices=TARGETS, help="measure one target only")
    parser.add_argument("--output", type=Path, help="also write the Markdown report to this file")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    targets = [args.only] if args.only else list(TARGETS)

    scratch = Path(tempfile.mkdtemp(prefix="moorage-bench-"))
    results: dict[str, TargetResults] = {}
    import_cell: Cell = None
    try:
        images = make_images(cfg, scratch)
        tag = time.strftime("%H%M%S")
        for target in targets:
            results[target] = run_target(target, cfg, images, scratch, tag)
        if "moorage" in targets:
            try:
                import_cell = import_app_time(cfg.import_runs)
            except Exception as error:  # noqa: BLE001
                import_cell = error if isinstance(error, StepError) else StepError(str(error))
        report = ["## moorage vs CNCF Distribution" + (" (--quick)" if cfg.quick else ""), "",
                  machine_header(), "", render(cfg, images, results, import_cell, targets)]
        notes = [n for r in results.values() for n in r.notes]
        for target, r in results.items():
            if r.other_cores is not None:
                warn = " (machine was not idle: numbers are skewed)" if r.other_cores > 0.1 else ""
                notes.append(f"other processes used {r.other_cores:.2f} of {os.cpu_count()} cores on average "
                             f"while {target} was measured{warn}")
        if notes:
            report += ["", *[f"- note: {n}" for n in notes]]
        text = "\n".join(report)
        print(text, flush=True)
        if args.output:
            args.output.write_text(text + "\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
