"""How the CLI prints results: an aligned table by default, JSON with --output json."""
from __future__ import annotations

import json


def show(args, data, columns: list[str], rows: list[dict]) -> None:
    if getattr(args, "output", "table") == "json":
        print(json.dumps(data, indent=2))
        return
    widths = [max([len(c)] + [len(str(r.get(c.lower(), "") or "")) for r in rows]) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in rows:
        print("  ".join(str(row.get(c.lower(), "") or "").ljust(w) for c, w in zip(columns, widths)).rstrip())
