"""Push one big layer through the moorage gateway in a single streamed request (as a classic
`docker push` does: one chunked PATCH, then PUT ?digest=) and report the peak RSS of the
gateway process and of the embedded storage process. Not a test: it measures.

    python bench/big_push.py              # 2 GiB
    python bench/big_push.py --mib 256
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import RssSampler, Server, _rss_kib  # noqa: E402  (bench/run.py, same folder)

PIECE = 1024 * 1024


def _stream(total: int, hasher):
    """Deterministic incompressible-enough bytes, generated on the fly (never all in memory)."""
    block = hashlib.sha256(b"seed").digest() * (PIECE // 32)
    sent = 0
    counter = 0
    while sent < total:
        piece = block[: min(PIECE, total - sent)]
        piece = counter.to_bytes(8, "big") + piece[8:]
        counter += 1
        hasher.update(piece)
        sent += len(piece)
        yield piece


def _logged_in(server: Server, repository: str) -> requests.Session:
    """A session carrying a push token for the repository (the docker token flow)."""
    session = requests.Session()
    user, _, password = (server.creds or ":").partition(":")
    answer = session.get(f"http://{server.host}/token", params={"scope": f"repository:{repository}:pull,push"},
                         auth=(user, password) if user else None, timeout=60)
    answer.raise_for_status()
    session.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return session


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=2048, help="layer size in MiB (default 2048)")
    args = parser.parse_args(argv)
    total = args.mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="moorage-bigpush-") as scratch:
        server = Server("moorage", Path(scratch))
        server.start()
        try:
            base = f"http://{server.host}/v2/library/bigpush"
            session = _logged_in(server, "library/bigpush")
            hasher = hashlib.sha256()
            started = time.monotonic()
            with RssSampler(server.process.pid) as rss:
                opened = session.post(f"{base}/blobs/uploads/", timeout=60)
                location = opened.headers["Location"]
                patched = session.patch(f"http://{server.host}{location}", data=_stream(total, hasher),
                                         headers={"Content-Type": "application/octet-stream"}, timeout=3600)
                assert patched.status_code == 202, patched.text
                digest = "sha256:" + hasher.hexdigest()
                closed = session.put(f"http://{server.host}{patched.headers['Location']}",
                                      params={"digest": digest}, timeout=600)
                assert closed.status_code == 201, closed.text
            seconds = time.monotonic() - started
            head = session.head(f"{base}/blobs/{digest}", timeout=60)
            assert int(head.headers["Content-Length"]) == total
            idle_gateway = _rss_kib(server.process.pid)
        finally:
            server.stop()
    print(f"| measurement | value |\n| --- | --- |")
    print(f"| layer pushed in one chunked PATCH | {args.mib} MiB in {seconds:.1f} s "
          f"({args.mib / seconds:.0f} MiB/s) |")
    print(f"| peak RSS, gateway process | {rss.peak_root_kib / 1024:.0f} MiB |")
    print(f"| peak RSS, gateway + embedded storage | {rss.peak_tree_kib / 1024:.0f} MiB |")
    print(f"| RSS of the gateway after the push | {idle_gateway / 1024:.0f} MiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
