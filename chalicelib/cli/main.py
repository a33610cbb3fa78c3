"""The `moorage` command. Never imported by app.py (adds nothing to the function's cold start)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_URL = os.environ.get("MOORAGE_URL", "http://127.0.0.1:5000")


def _serve(args) -> int:
    from chalicelib.local.serve import serve

    serve(args.host, args.port, args.data_dir, threads=args.threads)
    return 0


def _push(args) -> int:
    from .transfer import push

    push(args.url, args.layout, args.reference, jobs=args.jobs)
    return 0


def _pull(args) -> int:
    from .transfer import pull

    pull(args.url, args.reference, args.layout, jobs=args.jobs)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="moorage", description="A serverless container registry.")
    root.add_argument("--url", default=DEFAULT_URL, help="registry URL (default: %(default)s, or $MOORAGE_URL)")
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the registry locally with embedded storage")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MOORAGE_DATA_DIR", ".moorage")))
    serve.add_argument("--threads", type=int, default=32, help="concurrent requests served")
    serve.set_defaults(run=_serve)

    push = commands.add_parser("push", help="push an OCI image layout straight to storage")
    push.add_argument("layout", type=Path, help="OCI image layout directory (optionally DIR:REF)")
    push.add_argument("reference", help="NAME:TAG, e.g. library/hello:1")
    push.add_argument("--jobs", type=int, default=4, help="blobs uploaded in parallel")
    push.set_defaults(run=_push)

    pull = commands.add_parser("pull", help="pull an image into an OCI image layout")
    pull.add_argument("reference", help="NAME:TAG or NAME@DIGEST")
    pull.add_argument("layout", type=Path, help="OCI image layout directory to write")
    pull.add_argument("--jobs", type=int, default=4, help="blobs downloaded in parallel")
    pull.set_defaults(run=_pull)

    from .access import add_commands
    add_commands(commands)
    from .content import add_commands as add_content_commands
    add_content_commands(commands)
    from .scans import add_commands as add_scan_commands
    add_scan_commands(commands)
    from .usage import add_command as add_usage_command
    add_usage_command(commands)
    from .webhooks import add_commands as add_webhook_commands
    add_webhook_commands(commands)
    from .events import add_commands as add_event_commands
    add_event_commands(commands)
    from .audit import add_commands as add_audit_commands
    add_audit_commands(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from .api import CliError

    try:
        return args.run(args)
    except CliError as error:
        print(f"moorage: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `moorage audit | head`: the reader is gone, not an error of ours
        sys.stderr.close()
        return 0
