"""`moorage login|logout|whoami|user|group|robot|member|policy`: identity and access."""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from urllib.parse import quote

from .api import ApiClient, CliError
from .output import show


def _secret(args, prompt: str) -> str:
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password: use --password-stdin")
    return getpass.getpass(prompt)


def _q(text: str) -> str:
    return quote(text, safe="")


# ---- login ----------------------------------------------------------------------------------

def login(args) -> int:
    from .auth import LoginError, TokenAuth, save_login

    username = args.username or input("Username: ")
    password = _secret(args, "Password: ")
    try:
        body = TokenAuth(args.url, username, password).fetch([])
    except LoginError as error:
        raise CliError(f"login failed: {error}") from None
    path = save_login(args.url, username, body["refresh_token"])
    print(f"logged in to {args.url} as {username} (refresh token saved in {path})")
    return 0


def logout(args) -> int:
    from .auth import forget_login

    print(f"logged out of {args.url}" if forget_login(args.url) else f"not logged in to {args.url}")
    return 0


def whoami(args) -> int:
    me = ApiClient(args.url).get("/api/v1/auth/whoami")
    print(me["subject"] + (f" (groups: {', '.join(me['groups'])})" if me["groups"] else ""))
    return 0


# ---- users, groups, robots, members -----------------------------------------------------------

def user(args) -> int:
    client = ApiClient(args.url)
    if args.action == "create":
        body = {"name": args.name, "password": _secret(args, f"Password for {args.name}: "), "groups": args.group}
        print(f"created user {client.post('/api/v1/users', body)['name']}")
    elif args.action == "list":
        users = client.get("/api/v1/users")["users"]
        show(args, users, ["NAME", "GROUPS", "ROLES", "POLICIES"],
              [{**u, "groups": ",".join(u["groups"]), "policies": ",".join(u["policies"]),
                "roles": ",".join(f"{k}:{v}" for k, v in u["roles"].items())} for u in users])
    elif args.action == "delete":
        client.delete(f"/api/v1/users/{_q(args.name)}")
        print(f"deleted user {args.name}")
    elif args.action == "passwd":
        client.put(f"/api/v1/users/{_q(args.name)}/password", {"password": _secret(args, "New password: ")})
        print(f"changed the password of {args.name}")
    elif args.action == "groups":
        client.put(f"/api/v1/users/{_q(args.name)}/groups", {"groups": args.group})
        print(f"{args.name} is in: {', '.join(args.group) or '(no groups)'}")
    return 0


def group(args) -> int:
    client = ApiClient(args.url)
    if args.action == "create":
        print(f"created group {client.post('/api/v1/groups', {'name': args.name})['name']}")
    elif args.action == "list":
        groups = client.get("/api/v1/groups")["groups"]
        show(args, groups, ["NAME", "ROLES"],
              [{**g, "roles": ",".join(f"{k}:{v}" for k, v in g["roles"].items())} for g in groups])
    elif args.action == "delete":
        client.delete(f"/api/v1/groups/{_q(args.name)}")
        print(f"deleted group {args.name}")
    return 0


def robot(args) -> int:
    client = ApiClient(args.url)
    base = f"/api/v1/registries/{_q(args.registry)}/robots"
    if args.action == "create":
        body = {"name": args.name, "role": args.role, "expires_in_days": args.expires_in_days,
                "description": args.description}
        created = client.post(base, {k: v for k, v in body.items() if v is not None})
        if args.output == "json":
            print(json.dumps(created, indent=2))
        else:
            print(f"robot account: {created['login']}\nsecret (shown once, store it now): {created['secret']}")
    elif args.action == "list":
        robots = client.get(base)["robots"]
        show(args, robots, ["LOGIN", "ROLES", "EXPIRES_AT", "DESCRIPTION"],
              [{**r, "roles": ",".join(r["roles"].values())} for r in robots])
    elif args.action == "revoke":
        print(f"revoked {client.delete(f'{base}/{_q(args.name)}')['revoked']}")
    return 0


def member(args) -> int:
    client = ApiClient(args.url)
    base = f"/api/v1/registries/{_q(args.registry)}/members"
    if args.action == "list":
        members = client.get(base)["members"]
        show(args, members, ["TYPE", "NAME", "ROLE"], members)
    elif args.action == "grant":
        done = client.put(f"{base}/{args.type}/{_q(args.name)}", {"role": args.role})
        print(f"{done['type']} {done['name']} is {done['role']} in {args.registry}")
    elif args.action == "revoke":
        client.delete(f"{base}/{args.type}/{_q(args.name)}")
        print(f"{args.type} {args.name} has no role in {args.registry} any more")
    return 0


# ---- policies --------------------------------------------------------------------------------

def policy(args) -> int:
    client = ApiClient(args.url)
    path = _policy_path(args)
    if args.action == "put":
        try:
            text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise CliError(f"{args.file}: cannot read ({getattr(error, 'strerror', None) or error})") from None
        try:
            document = json.loads(text)
        except ValueError as error:
            raise CliError(f"{args.file}: not JSON ({error})") from None
        print(json.dumps(client.put(path, document), indent=2))
    elif args.action == "get":
        print(json.dumps(client.get(path), indent=2))
    elif args.action == "delete":
        client.delete(path)
        print("deleted")
    return 0


def _policy_path(args) -> str:
    if args.registry:
        if args.robot:
            if not args.name:
                raise CliError("--name POLICY is required")
            return f"/api/v1/registries/{_q(args.registry)}/robots/{_q(args.robot)}/policies/{_q(args.name)}"
        return f"/api/v1/registries/{_q(args.registry)}/policy"
    kind, principal = ("users", args.user) if args.user else ("groups", args.group)
    if not principal:
        raise CliError("name whose policy: --user, --group, --registry [--robot]")
    suffix = f"/{_q(args.name)}" if args.name else ""
    if not suffix and args.action != "get":
        raise CliError("--name POLICY is required")
    return f"/api/v1/{kind}/{_q(principal)}/policies{suffix}"


def add_commands(commands: argparse._SubParsersAction) -> None:
    def out(parser):
        parser.add_argument("--output", choices=["table", "json"], default="table")
        return parser

    p = commands.add_parser("login", help="log in and keep a refresh token (never the password)")
    p.add_argument("--username", "-u")
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(run=login)
    commands.add_parser("logout", help="forget the stored login").set_defaults(run=logout)
    commands.add_parser("whoami", help="who the registry thinks you are").set_defaults(run=whoami)

    users = commands.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    for action in ("create", "delete", "passwd", "groups"):
        p = users.add_parser(action)
        p.add_argument("name")
        if action in ("create", "passwd"):
            p.add_argument("--password-stdin", action="store_true")
        if action in ("create", "groups"):
            p.add_argument("--group", action="append", default=[])
        p.set_defaults(run=user)
    out(users.add_parser("list")).set_defaults(run=user)

    groups = commands.add_parser("group", help="manage groups").add_subparsers(dest="action", required=True)
    for action in ("create", "delete"):
        p = groups.add_parser(action)
        p.add_argument("name")
        p.set_defaults(run=group)
    out(groups.add_parser("list")).set_defaults(run=group)

    robots = commands.add_parser("robot", help="manage a registry's robot accounts").add_subparsers(
        dest="action", required=True)
    p = out(robots.add_parser("create"))
    p.add_argument("registry")
    p.add_argument("name")
    p.add_argument("--role", help="built-in role in the registry (e.g. Developer, Guest)")
    p.add_argument("--expires-in-days", type=int)
    p.add_argument("--description")
    p.set_defaults(run=robot)
    p = out(robots.add_parser("list"))
    p.add_argument("registry")
    p.set_defaults(run=robot)
    p = robots.add_parser("revoke")
    p.add_argument("registry")
    p.add_argument("name")
    p.set_defaults(run=robot)

    members = commands.add_parser("member", help="built-in roles in a registry").add_subparsers(
        dest="action", required=True)
    p = out(members.add_parser("list"))
    p.add_argument("registry")
    p.set_defaults(run=member)
    for action in ("grant", "revoke"):
        p = members.add_parser(action)
        p.add_argument("registry")
        p.add_argument("type", choices=["user", "group", "robot"])
        p.add_argument("name")
        if action == "grant":
            p.add_argument("role", help="RegistryAdmin, Maintainer, Developer, Guest, Auditor or BillingViewer")
        p.set_defaults(run=member)

    policies = commands.add_parser("policy", help="IAM-style policies of users, groups, robots and registries")
    policy_actions = policies.add_subparsers(dest="action", required=True)
    for action in ("put", "get", "delete"):
        p = policy_actions.add_parser(action)
        whose = p.add_mutually_exclusive_group(required=True)
        whose.add_argument("--user")
        whose.add_argument("--group")
        whose.add_argument("--registry", help="the registry's resource policy (or with --robot, a robot's)")
        p.add_argument("--robot", help="a robot of --registry")
        p.add_argument("--name", help="the policy's name (not for a registry's resource policy)")
        if action == "put":
            p.add_argument("file", help="policy JSON file, or - for standard input")
        p.set_defaults(run=policy)
