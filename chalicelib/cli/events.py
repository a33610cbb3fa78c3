"""`moorage events status|redrive`: the event pipeline's queues and dead letters."""
from __future__ import annotations

import argparse

from .output import show
from .api import ApiClient


def status(args) -> int:
    queues = ApiClient(args.url).get("/api/v1/events/queues")["queues"]
    show(args, {"queues": queues}, ["CONSUMER", "WAITING", "IN_FLIGHT", "DEAD_LETTERS"], queues)
    return 0


def redrive(args) -> int:
    result = ApiClient(args.url).post(f"/api/v1/events/queues/{args.consumer}/redrive", {})
    print(f"{result['redriven']} dead letters of {result['consumer']} sent back to its queue")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    events = commands.add_parser("events", help="the event pipeline: queue depths, dead letters, redrive")
    actions = events.add_subparsers(dest="action", required=True)
    p = actions.add_parser("status", help="waiting, in-flight and dead-lettered events per consumer")
    p.add_argument("--output", choices=["table", "json"], default="table")
    p.set_defaults(run=status)
    p = actions.add_parser("redrive", help="replay a consumer's dead letters (after fixing the fault)")
    p.add_argument("consumer", help="audit, meter, webhooks or storage")
    p.set_defaults(run=redrive)
