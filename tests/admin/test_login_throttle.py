"""Brute force over HTTP: /token refuses an account after repeated failures (429 with
Retry-After), and the audit log records the failed attempts."""
from __future__ import annotations

import time
import uuid

import requests


def test_repeated_failed_logins_are_throttled_and_audited(admin, moorage):
    user = "b" + uuid.uuid4().hex[:8]
    password = "a-long-password-" + uuid.uuid4().hex[:6]
    admin.ok("POST", "/users", 201, json={"name": user, "password": password})
    token = f"{moorage.url}/token"
    statuses = [requests.get(token, params={"service": "moorage"}, auth=(user, "guess"), timeout=30).status_code
                for _ in range(10)]
    assert statuses == [401] * 10
    refused = requests.get(token, params={"service": "moorage"}, auth=(user, password), timeout=30)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "too many failed logins" in refused.json()["errors"][0]["message"]
    form = requests.post(token, data={"grant_type": "password", "username": user, "password": password,
                                      "service": "moorage"}, timeout=30)
    assert form.status_code == 429
    deadline, found = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        found = [r for r in admin.ok("GET", "/audit?action=login.failed&limit=1000")["records"]
                 if r["details"].get("username") == user]
        if len(found) >= 12:
            break
        time.sleep(0.5)
    assert len(found) >= 12 and {r["result"] for r in found} == {"failed"}
