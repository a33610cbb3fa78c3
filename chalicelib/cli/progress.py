"""The progress display of `moorage push` and `moorage pull`: one line per blob on stderr."""
from __future__ import annotations

import sys
import threading
import time
from typing import IO


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _short(digest: str) -> str:
    return digest[:19]  # sha256: and 12 hex digits, as docker shows them


class Progress:
    """Per-blob lines on stderr. On a terminal, the blobs in flight show `done/total` and are
    redrawn in place (at most ten times a second); elsewhere only finished blobs print."""

    def __init__(self, stream: IO[str] | None = None):
        self.stream = stream or sys.stderr
        self.tty = _isatty(self.stream)
        self.started = time.monotonic()
        self.moved = 0  # bytes that actually travelled
        self.counts: dict[str, int] = {}
        self._active: dict[str, list[int]] = {}
        self._drawn = 0
        self._last_draw = 0.0
        self._lock = threading.Lock()

    def start(self, digest: str, total: int) -> None:
        with self._lock:
            self._active[digest] = [0, total]
            self._draw(force=True)

    def advance(self, digest: str, n: int) -> None:
        with self._lock:
            self.moved += n
            if digest in self._active:
                self._active[digest][0] += n
            self._draw()

    def finish(self, digest: str, status: str, size: int) -> None:
        with self._lock:
            self._active.pop(digest, None)
            self.counts[status] = self.counts.get(status, 0) + 1
            self._draw(force=True, line=f"{_short(digest)}  {status:<9} {human(size)}")

    def clear(self) -> None:
        """Take the in-flight lines off the terminal (after a failure)."""
        with self._lock:
            if self._active:
                self._active.clear()
                self._draw(force=True)

    def close(self, summary: str | None = None) -> None:
        with self._lock:
            self._active.clear()
            self._draw(force=True, line=summary)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _draw(self, force: bool = False, line: str | None = None) -> None:
        if not self.tty:
            if line is not None:
                self.stream.write(line + "\n")
                self.stream.flush()
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        out = [f"\x1b[{self._drawn}F"] if self._drawn else []
        if line is not None:
            out.append(line + "\x1b[K\n")
        for digest, (done, total) in self._active.items():
            out.append(f"{_short(digest)}  {human(done)} / {human(total)}\x1b[K\n")
        out.append("\x1b[J")
        self._drawn = len(self._active)
        self.stream.write("".join(out))
        self.stream.flush()


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
