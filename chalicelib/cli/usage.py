"""`moorage usage REGISTRY`: a registry's usage, hour by hour or day by day."""
from __future__ import annotations

import argparse
from urllib.parse import quote, urlencode

from .api import ApiClient
from .output import show

_COLUMNS = ("START", "PULLS", "PUSHES", "BYTES_UPLOADED", "SCANS", "ERRORS", "BYTES_LINKED", "BYTES_STORED")


def usage(args) -> int:
    query = {"from": args.from_, "to": args.to, "repository": args.repository, "granularity": args.granularity}
    path = f"/api/v1/registries/{quote(args.registry, safe='')}/usage"
    report = ApiClient(args.url).get(f"{path}?{urlencode({k: v for k, v in query.items() if v})}")
    rows = [*report["buckets"], {**report["totals"], "start": "TOTAL"}]
    show(args, report, list(_COLUMNS), rows)
    return 0
    rows = [[str(b[c.lower()] if b[c.lower()] is not None else "-") for c in _COLUMNS] for b in report["buckets"]]
    rows.append(["TOTAL"] + [str(report["totals"][c.lower()] if report["totals"][c.lower()] is not None else "-")
                             for c in _COLUMNS[1:]])
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(_COLUMNS)]
    # Numbers right-aligned so magnitudes line up; the time column left-aligned.
    for row in [list(_COLUMNS)] + rows:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths))))
    return 0


def add_command(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("usage", help="a registry's usage (pulls, pushes, bytes) by hour or day")
    p.add_argument("registry")
    p.add_argument("--from", dest="from_", help="ISO 8601 start (default: 24 hours ago)")
    p.add_argument("--to", help="ISO 8601 end, exclusive (default: the end of this hour)")
    p.add_argument("--repository", help="one repository of the registry (path inside it)")
    p.add_argument("--granularity", choices=["hour", "day"], default="hour")
    p.add_argument("--output", choices=["table", "json"], default="table")
    p.set_defaults(run=usage)
