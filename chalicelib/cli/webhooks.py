"""`moorage webhook create|list|delete|deliveries`: a registry's webhooks."""
from __future__ import annotations

import argparse
import json
from urllib.parse import quote

from .api import ApiClient
from .output import table


def webhook(args) -> int:
    client = ApiClient(args.url)
    base = f"/api/v1/registries/{quote(args.registry, safe='')}/webhooks"
    if args.action == "create":
        body = {"url": args.target, "events": args.event or ["*"], "description": args.description or ""}
        created = client.post(base, body)
        if args.output == "json":
            print(json.dumps(created, indent=2))
        else:
            print(f"webhook {created['id']} -> {created['url']} ({', '.join(created['events'])})\n"
                  f"signing secret (shown once, store it now): {created['secret']}")
    elif args.action == "list":
        hooks = client.get(base)["webhooks"]
        if args.output == "json":
            print(json.dumps(hooks, indent=2))
        else:
            table(["ID", "URL", "EVENTS", "ENABLED", "DESCRIPTION"],
                   [{**h, "events": ",".join(h["events"]), "enabled": "yes" if h["enabled"] else "no"} for h in hooks])
    elif args.action == "delete":
        deleted = client.delete(f"{base}/{quote(args.id, safe='')}")["deleted"]
        print(f"deleted webhook {deleted}")
    elif args.action == "deliveries":
        deliveries = client.get(f"{base}/{quote(args.id, safe='')}/deliveries?limit={args.limit}")["deliveries"]
        if args.output == "json":
            print(json.dumps(deliveries, indent=2))
        else:
            table(["EVENT_TIME", "EVENT_TYPE", "EVENT_ID", "STATUS", "ATTEMPTS", "LAST_ERROR"],
                   [{**d, "status": "delivered" if d["delivered"] else f"failed ({d['status_code'] or '-'})"}
                    for d in deliveries])
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    actions = commands.add_parser("webhook", help="a registry's webhooks").add_subparsers(dest="action", required=True)
    parsers = {name: actions.add_parser(name, help=text) for name, text in (
        ("create", "send a registry's events to a URL"), ("list", "list a registry's webhooks"),
        ("delete", "delete a webhook"), ("deliveries", "recent deliveries of a webhook, newest first"))}
    for name, p in parsers.items():
        p.add_argument("registry")
        p.add_argument("--output", choices=["table", "json"], default="table")
        p.set_defaults(run=webhook)
        if name in ("delete", "deliveries"):
            p.add_argument("id", help="the webhook's id (see `moorage webhook list`)")
    parsers["create"].add_argument("target", metavar="URL", help="http(s) URL the events are POSTed to")
    parsers["create"].add_argument("--event", action="append", help="an event type to send (repeat; default: all)")
    parsers["create"].add_argument("--description")
    parsers["deliveries"].add_argument("--limit", type=int, default=20)
