"""`moorage serve` runs the event consumers in a process of their own, at a lower CPU priority,
as Lambda runs them apart from the API function: a push's events still get processed."""
from __future__ import annotations

import os
import time

from tests.support.auth import authed_session
from tests.support.images import build_image, tar_layer
from tests.support.servers import start_registry, stop_registry
from tests.support.v2 import V2Client

from chalicelib.local.event_runner import NICENESS


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        return cmdline.read().replace(b"\0", b" ").decode()


def test_events_run_in_a_lower_priority_process_and_are_processed(tmp_path):
    registry = start_registry("moorage", tmp_path)
    try:
        runners = [p for p in _children(registry.process.pid) if "chalicelib.local.event_runner" in _cmdline(p)]
        assert len(runners) == 1
        assert os.getpriority(os.PRIO_PROCESS, runners[0]) - os.getpriority(os.PRIO_PROCESS, 0) == NICENESS

        session = authed_session(registry)
        V2Client(registry.url, session).push("library/evented", build_image([tar_layer({"a": b"b"})]), "1")
        deadline = time.monotonic() + 60
        while True:  # the audit consumer records the push
            records = session.get(f"{registry.url}/api/v1/audit", params={"registry": "library"}, timeout=30)
            assert records.status_code == 200, records.text
            if any(r["type"] == "manifest.pushed" and r["target"]["repository"] == "evented"
                   for r in records.json()["records"]):
                break
            assert time.monotonic() < deadline, registry.log_tail()
            time.sleep(0.5)
    finally:
        stop_registry(registry)
    assert not [p for p in _children(registry.process.pid)]  # nothing left behind
