"""`moorage serve`: embedded storage (moto, child process), the gateway on HTTP, and the
Chalice app called in-process exactly as Lambda would call it."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ACTOR = "moorage-serve"
# In-process there is no Lambda payload cap, so the local gateway hands the function bigger
# pieces than a deployed gateway may (~4 MiB there): whole S3 parts, no carry-over round trips.
LOCAL_PIECE_BYTES = 8 * 1024 * 1024


def release_big_buffers_to_the_os(arenas: int | None = None) -> None:
    """Request bodies pass through in multi-MiB buffers, from many threads. glibc raises its
    mmap threshold as such buffers are freed, after which they come from per-thread heaps
    that keep the memory: RSS creeps up to several times the data in flight. A fixed 16 MiB
    threshold keeps the largest buffers (base64 events of 8 MiB pieces) mmap'd and returned
    when freed. (1 MiB halves the peak again but costs a third of the push throughput.)
    `arenas` caps glibc's per-thread heaps: the embedded storage, whose 16 threads each took
    8 MiB request bodies into a heap of their own, peaks at half the memory with 2 (measured
    on 256 MiB pushes, no CPU cost); the gateway, after a few 256 MiB skopeo pushes, idles at
    270 instead of 400 MiB and peaks at 310-365 instead of 445-505 MiB, at the same speed."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name and "musl" not in name:
        try:
            libc = ctypes.CDLL(name)
            libc.mallopt(-3, 16 * 1024 * 1024)  # M_MMAP_THRESHOLD
            if arenas:
                libc.mallopt(-8, arenas)  # M_ARENA_MAX
        except (OSError, AttributeError):
            pass  # not glibc: nothing to tune


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _wait_for_port(host: str, port: int, process: subprocess.Popen, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"embedded storage exited with code {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("embedded storage did not start in time")


def local_environment(storage_url: str) -> dict[str, str]:
    """The same variables .chalice/config.json sets on AWS, pointed at the embedded storage."""
    return {
        "MOORAGE_AWS_ENDPOINT": storage_url,
        "MOORAGE_S3_PUBLIC_ENDPOINT": storage_url,
        "MOORAGE_TABLE": os.environ.get("MOORAGE_TABLE", "moorage"),
        "MOORAGE_BUCKET": os.environ.get("MOORAGE_BUCKET", "moorage"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "AWS_ACCESS_KEY_ID": "moorage-local",
        "AWS_SECRET_ACCESS_KEY": "moorage-local",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "MOORAGE_MAX_REQUEST_BODY": os.environ.get("MOORAGE_MAX_REQUEST_BODY", str(LOCAL_PIECE_BYTES)),
        # Local webhooks go to receivers on this machine.
        "MOORAGE_WEBHOOK_ALLOW_PRIVATE": os.environ.get("MOORAGE_WEBHOOK_ALLOW_PRIVATE", "1"),
    }


def start_storage(data_dir: Path, host: str = "127.0.0.1") -> tuple[subprocess.Popen, str]:
    port = free_port(host)
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local.storage", "--host", host, "--port", str(port),
         "--data-dir", str(data_dir / "storage")],
        stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    _wait_for_port(host, port, process)
    return process, f"http://{host}:{port}"


def start_events() -> subprocess.Popen:
    """The event runner (event_runner.main) in a process of its own, with this environment."""
    return subprocess.Popen([sys.executable, "-m", "chalicelib.local.event_runner"], stdin=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})


def stop_process(process: subprocess.Popen, timeout_s: float) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def prepare(settings) -> None:
    import boto3

    from chalicelib.store.schema import ensure_bucket, ensure_table

    session = boto3.session.Session()
    kwargs = {"region_name": settings.region, "endpoint_url": settings.aws_endpoint}
    ensure_table(session.client("dynamodb", **kwargs), settings.table_name)
    ensure_bucket(session.client("s3", **kwargs), settings.bucket)
    ensure_event_queues(session.client("sqs", **kwargs), session.client("s3", **kwargs), settings)


def ensure_event_queues(sqs, s3, settings) -> None:
    """The queues infra/ declares on AWS: one per consumer and one for S3 notifications, each
    with a dead-letter queue, and the bucket's notifications to the storage queue."""
    from chalicelib.events.consumers import CONSUMERS, MAX_RECEIVES, dead_letter_queue_name, queue_name
    from chalicelib.store.schema import ensure_object_notifications, ensure_queue

    timeouts = {c.name: c.visibility_timeout_s for c in CONSUMERS}
    for name in [c.name for c in CONSUMERS] + ["storage"]:
        dead_letters = ensure_queue(sqs, dead_letter_queue_name(settings.queue_prefix, name))
        arn = ensure_queue(sqs, queue_name(settings.queue_prefix, name), dead_letters, MAX_RECEIVES,
                           visibility_timeout_s=timeouts.get(name, 180))
        if name == "storage":
            ensure_object_notifications(s3, settings.bucket, arn)


def bootstrap_admin(principals) -> None:
    """The first administrator: MOORAGE_ADMIN_USER (default admin) with MOORAGE_ADMIN_PASSWORD,
    or a generated password printed this once. There is no default password."""
    import secrets

    name = os.environ.get("MOORAGE_ADMIN_USER", "admin")
    password = os.environ.get("MOORAGE_ADMIN_PASSWORD") or secrets.token_urlsafe(18)
    if principals.ensure_admin(name, password) and not os.environ.get("MOORAGE_ADMIN_PASSWORD"):
        print(f"created administrator '{name}' with password: {password}\n"
              "  (shown once; set MOORAGE_ADMIN_PASSWORD to choose it)", flush=True)


def serve(host: str, port: int, data_dir: Path, threads: int = 32) -> None:
    from cheroot import wsgi

    data_dir.mkdir(parents=True, exist_ok=True)
    release_big_buffers_to_the_os(arenas=2)
    storage, storage_url = start_storage(data_dir)
    os.environ.update(local_environment(storage_url))
    try:
        import app as function  # the same module Lambda imports
        from chalicelib.services import default_services

        from .gateway import Gateway, thread_safe
        from .scheduler import Scheduler

        services = default_services()
        prepare(services.settings)
        services.registries.ensure(services.settings.default_registry, ACTOR)
        bootstrap_admin(services.auth.principals)
        thread_safe(function.app)
        scheduler = Scheduler(function.app, interval_s=float(os.environ.get("MOORAGE_SCHEDULE_INTERVAL", "300")))
        scheduler.start()
        events = start_events()
        gateway = Gateway(function.app, list(function.app.routes),
                          piece_bytes=services.settings.max_request_body)
        server = wsgi.Server((host, port), gateway, numthreads=threads, request_queue_size=128,
                             server_name="moorage")
        server.max_request_body_size = 0  # bodies of any size stream through in pieces
        # Keep every client's idle connection open (cheroot's default keeps 10 and closes the rest).
        server.keep_alive_conn_limit = None
        # Ctrl-C and SIGTERM both end safe_start() cleanly (a background job starts with SIGINT
        # ignored, and stopping cheroot from inside its own loop would wait forever).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        print(f"moorage serving on http://{host}:{port} (data in {data_dir})", flush=True)
        try:
            server.safe_start()
        finally:
            scheduler.stop()
            server.stop()
            services.publisher.flush()
            stop_process(events, timeout_s=30)
    finally:
        stop_process(storage, timeout_s=120)
