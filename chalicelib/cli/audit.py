"""`moorage audit`: the audit log, newest first, as a table, JSON lines or CSV."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from urllib.parse import urlencode

from .api import ApiClient, CliError
from .output import table

PAGE_MAX = 1000  # the API's largest page
CSV_COLUMNS = ["time", "type", "result", "principal", "source_ip", "user_agent", "registry", "repository",
               "tag", "digest", "id", "details"]


def audit(args) -> int:
    if args.limit < 1:
        raise CliError("--limit must be at least 1")
    records = list(fetch(ApiClient(args.url), args))
    if args.output == "jsonl":
        for record in records:
            print(json.dumps(record, sort_keys=True))
    elif args.output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(CSV_COLUMNS)
        writer.writerows([_csv_cell(row.get(c)) for c in CSV_COLUMNS] for row in map(_flat, records))
    else:
        table(["TIME", "TYPE", "RESULT", "PRINCIPAL", "SOURCE_IP", "TARGET"],
               [{**_flat(r), "target": _target(r["target"])} for r in records])
    return 0


def fetch(client: ApiClient, args):
    """Records page after page, until --limit or the end of the log."""
    query = {"registry": args.registry, "repository": args.repository, "actor": args.actor, "action": args.action,
             "from": args.since, "to": args.until}
    query = {k: v for k, v in query.items() if v}
    left, cursor = args.limit, None
    while left > 0:
        page = client.get("/api/v1/audit?" + urlencode({**query, "limit": min(left, PAGE_MAX),
                                                         **({"cursor": cursor} if cursor else {})}))
        yield from page["records"][:left]
        left -= len(page["records"])
        cursor = page.get("next_cursor")
        if not cursor or not page["records"]:
            return


def _flat(record: dict) -> dict:
    return {**record["actor"], **record["target"], "id": record["id"], "time": record["time"],
            "type": record["type"], "result": record["result"],
            "details": json.dumps(record.get("details") or {}, sort_keys=True)}


def _target(target: dict) -> str:
    name = "/".join(p for p in (target.get("registry"), target.get("repository")) if p)
    return name + (f":{target['tag']}" if target.get("tag") else "") + (
        f"@{target['digest'][:19]}" if target.get("digest") else "")


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # Values come from callers (a user agent, a name): a spreadsheet must not run one as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text



def add_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("audit", help="who did what, when, from where (newest first)")
    p.add_argument("--registry", help="one registry's log (default: the deployment's, registries included)")
    p.add_argument("--repository", help="only this repository (its path inside the registry)")
    p.add_argument("--actor", help="only this principal, e.g. user:alice")
    p.add_argument("--action", help="only this event type, e.g. manifest.pushed")
    p.add_argument("--from", dest="since", metavar="TIME", help="ISO 8601 (default: 24 hours before --to)")
    p.add_argument("--to", dest="until", metavar="TIME", help="ISO 8601 (default: now)")
    p.add_argument("--limit", type=int, default=100, help="records to show (default: %(default)s)")
    p.add_argument("--output", choices=["table", "jsonl", "csv"], default="table")
    p.set_defaults(run=audit)
