"""`moorage scan` and `moorage vulndb import|status`: vulnerability scans of images, and
the vulnerability data they match against."""
from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import requests

from .api import ApiClient, CliError
from .content import _artifact_reference, _repo_path
from .output import table

_POLL_S = 1.0


def scan(args) -> int:
    client = ApiClient(args.url)
    name, reference = _artifact_reference(args.reference)
    path = _repo_path(name) + "/-/artifacts/" + quote(reference, safe="") + "/scan"
    if not args.show:
        queued = client.post(path + ("?rescan=true" if args.rescan else ""), {})
        print(f"scan of {name}@{queued['digest']} queued", flush=True)
        if not args.wait:
            return 0
    query = {"severity": args.severity, "fixable": "true" if args.fixable else None, "package": args.package,
             "type": args.type}
    suffix = "?" + urlencode({k: v for k, v in query.items() if v}) if any(query.values()) else ""
    deadline = time.monotonic() + args.timeout
    while True:
        result = client.get(path + suffix)
        if result["summary"].get("status") not in ("queued", "running"):
            break
        if time.monotonic() > deadline:
            raise CliError(f"the scan did not finish within {args.timeout} s (it goes on; `moorage scan --show`)")
        time.sleep(_POLL_S)
    _print_result(args, result)
    failed = result["summary"].get("status") == "failed"
    return 2 if failed else 0


def _print_result(args, result: dict) -> None:
    if args.output == "json":
        print(json.dumps(result, indent=2))
        return
    summary = result["summary"]
    if summary.get("status") == "failed":
        print(f"scan failed: {summary.get('reason')}")
        return
    counts = summary.get("severity_counts") or {}
    by_severity = ", ".join(f"{counts[s]} {s.lower()}" for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
                            if counts.get(s))
    print(f"{summary.get('total', 0)} vulnerabilities" + (f" ({by_severity})" if by_severity else "")
          + f", {summary.get('fixable', 0)} fixable, "
          f"{summary.get('secrets', 0)} secrets, {summary.get('packages', 0)} packages; "
          f"vulnerability data {summary.get('db_version') or 'none'}")
    report = result.get("report") or {"platforms": []}
    rows = [{"platform": p["platform"], "id": f["id"], "severity": f["severity"], "package": f["package_name"],
             "installed": f["installed_version"], "fixed": ",".join(f.get("fixed_versions") or []) or "-",
             "layer": (f.get("layer") or "")[:19]}
            for p in report["platforms"] for f in p["findings"]]
    if rows:
        table(["PLATFORM", "ID", "SEVERITY", "PACKAGE", "INSTALLED", "FIXED", "LAYER"], rows)
    secrets = [{"rule": s["rule_id"], "path": s["path"], "line": s["line"], "match": s["match"],
                "deleted_later": s.get("deleted_later", False)}
               for p in report["platforms"] for s in p["secrets"]]
    if secrets:
        table(["RULE", "PATH", "LINE", "MATCH", "DELETED_LATER"], secrets)


def vulndb(args) -> int:
    client = ApiClient(args.url)
    if args.action == "status":
        found = client.get("/api/v1/vulndb")
        print(json.dumps(found, indent=2) if args.output == "json"
              else f"version {found['version']}: {found['advisories']} advisories, built {found['built_at']}")
        return 0
    from chalicelib.events.vulndb import VulnDbSourceError, fetch
    from chalicelib.scanner import import_osv

    with tempfile.TemporaryDirectory(prefix="moorage-osv-") as work:
        try:
            paths = [fetch(source, Path(work) / f"source-{n}") for n, source in enumerate(args.sources)]
        except (VulnDbSourceError, OSError) as error:
            raise CliError(str(error)) from None
        db_file = Path(work) / "vulndb.sqlite"
        info = import_osv(paths, db_file)
        data = db_file.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        target = client.post("/api/v1/vulndb/uploads", {"size": len(data), "sha256": sha256})
        sent = requests.put(target["url"], data=data, headers=target["headers"], timeout=600)
        if sent.status_code >= 300:
            raise CliError(f"upload to storage failed: HTTP {sent.status_code}")
        pointer = client.post("/api/v1/vulndb", {"upload": target["upload"], "sha256": sha256})
    print(f"imported {info.advisories} advisories: version {pointer['version']}")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("scan", help="scan an image for vulnerabilities and secrets, and show the result")
    p.add_argument("reference", help="REGISTRY/PATH:TAG or REGISTRY/PATH@DIGEST")
    p.add_argument("--show", action="store_true", help="only show the last result, do not scan")
    p.add_argument("--wait", action="store_true", help="wait for the scan and show its result")
    p.add_argument("--rescan", action="store_true", help="match the stored inventory again, do not read layers")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--severity", help="only these severities, e.g. CRITICAL,HIGH")
    p.add_argument("--fixable", action="store_true", help="only vulnerabilities with a fixed version")
    p.add_argument("--package", help="only this package")
    p.add_argument("--type", choices=["os", "language", "secret"])
    p.add_argument("--output", choices=["table", "json"], default="table")
    p.set_defaults(run=scan)
    actions = commands.add_parser("vulndb", help="the vulnerability data scans use").add_subparsers(
        dest="action", required=True)
    p = actions.add_parser("import", help="build a DB from OSV records (directories, all.zip files or URLs) "
                                          "and publish it")
    p.add_argument("sources", nargs="+", metavar="PATH|URL")
    p.set_defaults(run=vulndb)
    p = actions.add_parser("status", help="the DB in use")
    p.add_argument("--output", choices=["table", "json"], default="table")
    p.set_defaults(run=vulndb)
