"""`moorage registry|repo|tag|artifact|gc|retention`: registries, repositories, tags and
artifacts, garbage collection and retention, through the management API."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

from .api import ApiClient, CliError
from .output import show, table

_SIZE = re.compile(r"(\d+)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _size(text: str) -> int | None:
    """'10GiB', '500MB', '1234' -> bytes; 'none' -> no quota."""
    if text.lower() in ("none", "unlimited"):
        return None
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise CliError(f"not a size: {text!r} (e.g. 10GiB, 500MB, 1234, none)")
    return int(match.group(1)) * _UNITS[(match.group(2) or "b").lower()]


def _q(text: str) -> str:
    return quote(text, safe="")


def _split(name: str) -> tuple[str, str]:
    registry, _, repository = name.partition("/")
    if not registry or not repository:
        raise CliError(f"{name!r}: name a repository as REGISTRY/PATH, e.g. library/hello")
    return registry, repository


def _repo_path(name: str) -> str:
    registry, repository = _split(name)
    return f"/api/v1/registries/{_q(registry)}/repositories/{quote(repository, safe='/')}"


def _read_json(path: str) -> object:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise CliError(f"{path}: not JSON ({error})") from None


# ---- registry ---------------------------------------------------------------------------------

def registry(args) -> int:
    client = ApiClient(args.url)
    base = "/api/v1/registries"
    if args.action == "create":
        body = {"name": args.name, "description": args.description or "", "visibility": args.visibility}
        if args.quota is not None:
            body["quota_bytes"] = _size(args.quota)
        if args.bucket:
            body["bucket"] = args.bucket
        if args.scan_on_push is not None:
            body["scan_on_push"] = args.scan_on_push == "on"
        if args.policy:
            body["policy"] = _read_json(args.policy)
        created = client.post(base, body)
        _print_or_json(args, created, f"created registry {created['name']}")
    elif args.action == "list":
        registries = client.get(base)["registries"]
        show(args, registries, ["NAME", "VISIBILITY", "QUOTA_BYTES", "STATUS", "CREATED_AT"], registries)
    elif args.action == "get":
        found = client.get(f"{base}/{_q(args.name)}")
        _show_object(args, found)
    elif args.action == "update":
        changes: dict = {}
        if args.description is not None:
            changes["description"] = args.description
        if args.visibility:
            changes["visibility"] = args.visibility
        if args.quota is not None:
            changes["quota_bytes"] = _size(args.quota)
        if args.scan_on_push is not None:
            changes["scan_on_push"] = args.scan_on_push == "on"
        if args.policy:
            changes["policy"] = _read_json(args.policy)
        if not changes:
            raise CliError("nothing to change: --description, --visibility, --quota, --scan-on-push or --policy")
        _show_object(args, client.request_json("PATCH", f"{base}/{_q(args.name)}", changes))
    elif args.action == "delete":
        done = client.delete(f"{base}/{_q(args.name)}" + ("?force=true" if args.force else ""))
        removed = ", ".join(f"{v} {k}" for k, v in (done.get("deletion") or {}).get("removed", {}).items())
        print(f"registry {done['name']}: {done['status']}" + (f" (removed so far: {removed})" if removed else ""))
    return 0


# ---- repo, tag, artifact -------------------------------------------------------------------------

def repo(args) -> int:
    client = ApiClient(args.url)
    if args.action == "list":
        query = {"q": args.search, "limit": args.limit}
        path = f"/api/v1/registries/{_q(args.registry)}/repositories?" + urlencode({k: v for k, v in query.items() if v})
        repositories = client.get(path)["repositories"]
        show(args, repositories, ["FULL_NAME", "LAST_PUSH", "LAST_PULL", "DESCRIPTION"], repositories)
    elif args.action == "get":
        _show_object(args, client.get(_repo_path(args.name)))
    elif args.action == "policy":
        _show_object(args, client.get(_repo_path(args.name) + "/-/policy"))
    elif args.action == "update":
        changes: dict = {}
        if args.description is not None:
            changes["description"] = args.description
        if args.policy:
            changes["policy"] = None if args.policy == "none" else _read_json(args.policy)
        if not changes:
            raise CliError("nothing to change: --description or --policy FILE (--policy none removes it)")
        _show_object(args, client.request_json("PATCH", _repo_path(args.name), changes))
    elif args.action == "delete":
        done = client.delete(_repo_path(args.name))
        print(f"repository {done['name']}: {done['status']}")
    return 0


def tag(args) -> int:
    client = ApiClient(args.url)
    if args.action == "list":
        tags = client.get(_repo_path(args.name) + "/-/tags")["tags"]
        show(args, tags, ["NAME", "DIGEST", "PUSHED_AT", "PUSHED_BY", "IMMUTABLE"], tags)
    else:
        name, _, tag_name = args.reference.rpartition(":")
        if not name or "/" not in name:
            raise CliError(f"{args.reference!r}: name the tag as REGISTRY/PATH:TAG")
        print(f"deleted {client.delete(_repo_path(name) + '/-/tags/' + _q(tag_name))['deleted']}")
    return 0


def artifact(args) -> int:
    client = ApiClient(args.url)
    if args.action == "list":
        artifacts = client.get(_repo_path(args.name) + "/-/artifacts")["artifacts"]
        rows = [{**a, "digest": a["digest"][:19], "type": a["artifact_type"] or a["media_type"].rsplit(".", 2)[-2],
                 "scan": _scan(a.get("scan"))} for a in artifacts]
        show(args, artifacts, ["DIGEST", "TAGS", "TYPE", "SIZE", "PUSHED_AT", "LAST_PULL", "SCAN"], rows)
        return 0
    name, reference = _artifact_reference(args.reference)
    path = _repo_path(name) + "/-/artifacts/" + _q(reference)
    if args.action == "get":
        _show_object(args, client.get(path))
    else:
        print(f"deleted {client.delete(path)['deleted']}")
    return 0


def _artifact_reference(text: str) -> tuple[str, str]:
    if "@" in text:
        name, _, digest = text.partition("@")
        return name, digest
    name, _, tag_name = text.rpartition(":")
    if not name or "/" not in name:
        raise CliError(f"{text!r}: name the artifact as REGISTRY/PATH@DIGEST or REGISTRY/PATH:TAG")
    return name, tag_name


def _scan(summary: dict | None) -> str:
    if not summary:
        return "-"
    counts = summary.get("severity_counts") or {}
    return " ".join(f"{k[0]}:{counts[k]}" for k in ("CRITICAL", "HIGH", "MEDIUM", "LOW") if counts.get(k)) or "clean"


# ---- gc, retention ------------------------------------------------------------------------------

def gc(args) -> int:
    report = ApiClient(args.url).request_json("POST", "/api/v1/gc" + ("?dry_run=true" if args.dry_run else ""), {})
    if args.output == "json":
        print(json.dumps(report, indent=2))
        return 0
    verb = "would remove" if report["dry_run"] else "removed"
    print(f"{verb} {len(report['blobs'])} blobs ({report['bytes_freed']} bytes), "
          f"{len(report['blob_links'])} blob links, {len(report['manifest_objects'])} manifest objects; "
          f"aborted {report['uploads_aborted']} expired uploads ({report['marks_read']} marks read)")
    table(["REGISTRY", "DIGEST", "SIZE"], report["blobs"])
    return 0


def retention(args) -> int:
    query = {"dry_run": "true" if args.dry_run else None, "repository": args.repository}
    path = f"/api/v1/registries/{_q(args.registry)}/retention?" + urlencode({k: v for k, v in query.items() if v})
    report = ApiClient(args.url).request_json("POST", path, {})
    if args.output == "json":
        print(json.dumps(report, indent=2))
        return 0
    rows = [{"repository": r["repository"], "tag": t["tag"], "digest": t["digest"][:19], "reason": t["reason"]}
            for r in report["repositories"] for t in r["tags"]]
    rows += [{"repository": r["repository"], "tag": "", "digest": m["digest"][:19], "reason": m["reason"]}
             for r in report["repositories"] for m in r["manifests"]]
    print(f"{'would free' if report['dry_run'] else 'freed'} {report['bytes_freed']} bytes")
    table(["REPOSITORY", "TAG", "DIGEST", "REASON"], rows)
    return 0


def _print_or_json(args, data: dict, text: str) -> None:
    print(json.dumps(data, indent=2) if getattr(args, "output", "table") == "json" else text)


def _show_object(args, data: dict) -> None:
    if getattr(args, "output", "table") == "json":
        print(json.dumps(data, indent=2))
        return
    rows = [{"field": k, "value": json.dumps(v) if isinstance(v, (dict, list)) else v} for k, v in data.items()]
    table(["FIELD", "VALUE"], rows)


# ---- parsers ------------------------------------------------------------------------------------

def add_commands(commands: argparse._SubParsersAction) -> None:
    def sub(parent, name, help_text, run, *positional):
        p = parent.add_parser(name, help=help_text)
        for arg, arg_help in positional:
            p.add_argument(arg, help=arg_help)
        p.add_argument("--output", choices=["table", "json"], default="table")
        p.set_defaults(run=run)
        return p

    registries = commands.add_parser("registry", help="manage registries").add_subparsers(dest="action", required=True)
    p = sub(registries, "create", "create a registry", registry, ("name", "registry name"))
    p.add_argument("--description")
    p.add_argument("--visibility", choices=["private", "public"], default="private")
    p.add_argument("--quota", help="unique bytes stored at most, e.g. 10GiB")
    p.add_argument("--bucket", help="the registry's own S3 bucket")
    p.add_argument("--scan-on-push", choices=["on", "off"])
    p.add_argument("--policy", metavar="FILE", help="content policy JSON (or - for standard input)")
    sub(registries, "list", "list registries", registry)
    sub(registries, "get", "a registry with its size and repository count", registry, ("name", "registry name"))
    p = sub(registries, "update", "change a registry's settings", registry, ("name", "registry name"))
    p.add_argument("--description")
    p.add_argument("--visibility", choices=["private", "public"])
    p.add_argument("--quota", help="e.g. 10GiB, or none to remove the quota")
    p.add_argument("--scan-on-push", choices=["on", "off"])
    p.add_argument("--policy", metavar="FILE", help="content policy JSON (replaces the registry's)")
    p = sub(registries, "delete", "delete a registry (in the background)", registry, ("name", "registry name"))
    p.add_argument("--force", action="store_true", help="also when it holds repositories: all content goes")

    repos = commands.add_parser("repo", help="manage repositories").add_subparsers(dest="action", required=True)
    p = sub(repos, "list", "a registry's repositories", repo, ("registry", "registry name"))
    p.add_argument("--search", help="only names containing this")
    p.add_argument("--limit", type=int)
    for action, text in (("get", "a repository with its tag count and size"), ("delete", "delete a repository"),
                         ("policy", "the content policy that applies to a repository")):
        sub(repos, action, text, repo, ("name", "REGISTRY/PATH"))
    p = sub(repos, "update", "change a repository's description or policy", repo, ("name", "REGISTRY/PATH"))
    p.add_argument("--description")
    p.add_argument("--policy", metavar="FILE", help="policy JSON overriding the registry's; 'none' removes it")

    tags = commands.add_parser("tag", help="a repository's tags").add_subparsers(dest="action", required=True)
    sub(tags, "list", "a repository's tags", tag, ("name", "REGISTRY/PATH"))
    sub(tags, "delete", "delete a tag (the image stays)", tag, ("reference", "REGISTRY/PATH:TAG"))

    artifacts = commands.add_parser("artifact", help="a repository's artifacts (images, charts, …)").add_subparsers(
        dest="action", required=True)
    sub(artifacts, "list", "a repository's artifacts", artifact, ("name", "REGISTRY/PATH"))
    sub(artifacts, "get", "an artifact with its layers and referrers", artifact,
        ("reference", "REGISTRY/PATH@DIGEST or REGISTRY/PATH:TAG"))
    sub(artifacts, "delete", "delete an artifact and its tags", artifact, ("reference", "REGISTRY/PATH@DIGEST"))

    p = sub(commands, "gc", "remove blobs and manifests nothing uses any more", gc)
    p.add_argument("--dry-run", action="store_true", help="show what would be removed")
    retention_parser = commands.add_parser("retention", help="apply retention rules").add_subparsers(
        dest="action", required=True)
    p = sub(retention_parser, "run", "apply a registry's retention rules now", retention,
            ("registry", "registry name"))
    p.add_argument("--repository", help="only this repository (its path in the registry)")
    p.add_argument("--dry-run", action="store_true", help="list what would go and the bytes it would free")
