"""How the CLI prints results: an aligned table by default, JSON with --output json.

One printer for every command. Cells come from the server and from other callers (a user
agent, a description): control characters are replaced so they cannot reach the terminal
as escape sequences. Numbers are right-aligned so magnitudes line up."""
from __future__ import annotations

import json
from numbers import Number


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    return "".join(ch if ch.isprintable() else "?" for ch in str(value))


def table(columns: list[str], rows: list[dict]) -> None:
    """Rows are dicts keyed by the lower-cased column names."""
    keys = [c.lower() for c in columns]
    cells = [[_cell(row.get(k)) for k in keys] for row in rows]
    numeric = [bool(rows) and all(isinstance(r.get(k), Number) or r.get(k) is None for r in rows) for k in keys]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    for line in [list(columns), *cells]:
        print("  ".join(v.rjust(w) if right else v.ljust(w)
                        for v, w, right in zip(line, widths, numeric)).rstrip())


def show(args, data, columns: list[str], rows: list[dict]) -> None:
    if getattr(args, "output", "table") == "json":
        print(json.dumps(data, indent=2))
    else:
        table(columns, rows)
