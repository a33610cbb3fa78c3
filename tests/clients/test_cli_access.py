"""`moorage login|logout|whoami|user|group|robot|member|policy` run as a user runs them: a
subprocess against the registry under test, with its own $XDG_CONFIG_HOME for the stored login.

The registry is shared by the whole session, so every name made here is unique.
"""

from __future__ import annotations

import json
import os
import stat
import uuid

import jwt
import pytest
import requests

from tests.support import skopeo
from tests.support.cli import Cli
from tests.support.images import (
    build_image,
    random_layer,
    read_oci_layout,
    write_oci_layout,
)
from tests.support.servers import RunningRegistry

pytestmark = pytest.mark.skipif(
    os.environ.get("MOORAGE_TEST_TARGET", "moorage") != "moorage",
    reason="the management API and its CLI are moorage's own")

TIMEOUT = 60
PULL_POLICY = "repository:Pull"


def unique(label: str) -> str:
    return f"{label}{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def admin(registry, tmp_path_factory) -> Cli:
    """The CLI logged in (once) as the server's administrator."""
    cli = Cli(registry, tmp_path_factory.mktemp("admin-config"))
    cli.login(registry.username, registry.password)
    return cli


@pytest.fixture
def fresh(registry, tmp_path) -> Cli:
    """The CLI with an empty configuration: nobody logged in."""
    return Cli(registry, tmp_path / "config")


def token(registry: RunningRegistry, scope: str, auth: tuple[str, str] | None) -> requests.Response:
    return requests.get(f"{registry.url}/token", params={"service": "moorage", "scope": scope},
                        auth=auth, timeout=TIMEOUT)


def granted(response: requests.Response) -> list[str]:
    """The actions a token response grants on its (single) repository."""
    assert response.status_code == 200, response.text
    access = jwt.decode(response.json()["token"], options={"verify_signature": False})["access"]
    return sorted(action for entry in access for action in entry["actions"])


def new_registry(admin: Cli) -> str:
    name = unique("cli")
    assert admin.ok("registry", "create", name).strip() == f"created registry {name}"
    return name


# ---- login, whoami, logout -------------------------------------------------------------------

def test_login_stores_a_refresh_token_and_never_the_password(registry, fresh):
    assert fresh.ok("whoami").strip() == "anonymous"
    out = fresh.login(registry.username, registry.password)
    assert out.strip() == (f"logged in to {registry.url} as {registry.username} "
                           f"(refresh token saved in {fresh.credentials})")

    text = fresh.credentials.read_text()
    assert registry.password not in text
    assert stat.S_IMODE(fresh.credentials.stat().st_mode) == 0o600
    stored = json.loads(text)
    assert list(stored) == [registry.url]
    assert set(stored[registry.url]) == {"username", "refresh_token"}
    assert stored[registry.url]["username"] == registry.username
    claims = jwt.decode(stored[registry.url]["refresh_token"], options={"verify_signature": False})
    assert claims["use"] == "refresh" and claims["sub"] == f"user:{registry.username}"
    assert not list(fresh.credentials.parent.glob("*.tmp")), "temporary file left behind"

    assert fresh.ok("whoami").strip() == f"user:{registry.username}"

    assert fresh.ok("logout").strip() == f"logged out of {registry.url}"
    assert registry.url not in json.loads(fresh.credentials.read_text())
    assert stat.S_IMODE(fresh.credentials.stat().st_mode) == 0o600
    assert fresh.ok("whoami").strip() == "anonymous"
    assert fresh.ok("logout").strip() == f"not logged in to {registry.url}"


def test_login_keeps_the_logins_of_other_registries(registry, fresh):
    fresh.credentials.parent.mkdir(parents=True)
    fresh.credentials.write_text(json.dumps({"http://elsewhere.invalid": {"username": "x", "refresh_token": "t"}}))
    fresh.login(registry.username, registry.password)
    assert set(json.loads(fresh.credentials.read_text())) == {"http://elsewhere.invalid", registry.url}
    fresh.ok("logout")
    assert set(json.loads(fresh.credentials.read_text())) == {"http://elsewhere.invalid"}


def test_login_with_a_wrong_password_fails_and_stores_nothing(registry, fresh):
    error = fresh.fails("login", "-u", registry.username, "--password-stdin", stdin="not-the-password\n")
    assert error == "moorage: login failed: invalid username or password"
    assert not fresh.credentials.exists()
    assert fresh.fails("login", "-u", unique("nobody"), "--password-stdin", stdin="whatever-password\n") == error


def test_login_without_a_terminal_asks_for_password_stdin(registry, fresh):
    error = fresh.fails("login", "-u", registry.username, stdin="")
    assert "--password-stdin" in error
    assert not fresh.credentials.exists()


def test_a_user_logs_in_and_sees_its_groups(admin, fresh):
    group, name, password = unique("g"), unique("u"), uuid.uuid4().hex
    admin.ok("group", "create", group)
    admin.ok("user", "create", name, "--group", group, "--password-stdin", stdin=password + "\n")
    fresh.login(name, password)
    assert fresh.ok("whoami").strip() == f"user:{name} (groups: {group})"
    # an ordinary user may not manage principals
    assert fresh.fails("user", "list") == \
        f"moorage: user:{name} may not iam:ManagePrincipals on mrn:iam:principals (DENIED)"


def test_a_stale_login_says_to_log_in_again(admin, fresh):
    name, password = unique("u"), uuid.uuid4().hex
    admin.ok("user", "create", name, "--password-stdin", stdin=password + "\n")
    fresh.login(name, password)
    admin.ok("user", "delete", name)
    error = fresh.fails("whoami")
    assert error.startswith("moorage: login failed: ") and error.endswith("(run `moorage login`)")


# ---- users and groups ------------------------------------------------------------------------

def test_user_create_list_delete(registry, admin):
    name, password = unique("u"), uuid.uuid4().hex
    assert admin.ok("user", "create", name, "--password-stdin", stdin=password + "\n").strip() == \
        f"created user {name}"
    assert token(registry, "", (name, password)).status_code == 200  # the password works

    table = admin.ok("user", "list").splitlines()
    assert table[0].split() == ["NAME", "GROUPS", "ROLES", "POLICIES"]
    assert [line.split()[0] for line in table[1:]].count(name) == 1
    listed = {u["name"]: u for u in admin.json("user", "list")}
    assert listed[name] == {**listed[name], "type": "user", "groups": [], "roles": {}, "policies": []}
    assert password not in admin.ok("user", "list", "--output", "json")

    assert admin.ok("user", "delete", name).strip() == f"deleted user {name}"
    assert name not in {u["name"] for u in admin.json("user", "list")}
    assert token(registry, "", (name, password)).status_code == 401


def test_group_create_and_list(admin):
    group = unique("g")
    assert admin.ok("group", "create", group).strip() == f"created group {group}"
    assert group in {g["name"] for g in admin.json("group", "list")}
    assert admin.fails("group", "create", group) == f"moorage: group '{group}' already exists (ALREADY_EXISTS)"


def test_user_errors_are_one_clear_line(admin):
    nobody = unique("nobody")
    assert admin.fails("user", "delete", nobody) == f"moorage: user '{nobody}' does not exist (NOT_FOUND)"
    assert "invalid user name" in admin.fails("user", "create", "Bad Name", "--password-stdin", stdin="long-enough\n")
    assert "INVALID_ARGUMENT" in admin.fails("user", "create", unique("u"), "--password-stdin", stdin="short\n")


def test_a_user_with_a_missing_group_is_not_created(admin):
    name, group = unique("u"), unique("missing")
    error = admin.fails("user", "create", name, "--group", group, "--password-stdin", stdin=uuid.uuid4().hex + "\n")
    assert f"group '{group}' does not exist" in error
    assert name not in {u["name"] for u in admin.json("user", "list")}


# ---- robots ----------------------------------------------------------------------------------

def test_robot_secret_is_shown_once_and_works_until_revoked(registry, admin):
    reg = new_registry(admin)
    out = admin.ok("robot", "create", reg, "ci", "--role", "Developer", "--description", "the CI").splitlines()
    login = f"robot${reg}+ci"
    assert out[0] == f"robot account: {login}"
    assert out[1].startswith("secret (shown once, store it now): ")
    secret = out[1].rsplit(" ", 1)[1]
    assert len(secret) >= 32

    assert granted(token(registry, f"repository:{reg}/app:pull,push", (login, secret))) == ["pull", "push"]
    assert granted(token(registry, f"repository:{unique('other')}/app:pull", (login, secret))) == []

    table = admin.ok("robot", "list", reg)
    assert secret not in table
    assert table.splitlines()[1].split() == [login, "Developer", "the", "CI"]
    listed = admin.json("robot", "list", reg)
    assert [r["login"] for r in listed] == [login] and "secret" not in listed[0]
    assert listed[0]["roles"] == {reg: "Developer"} and listed[0]["description"] == "the CI"

    assert admin.ok("robot", "revoke", reg, "ci").strip() == f"revoked {login}"
    assert token(registry, f"repository:{reg}/app:pull", (login, secret)).status_code == 401
    assert admin.json("robot", "list", reg) == []
    assert admin.fails("robot", "revoke", reg, "ci") == f"moorage: robot '{reg}+ci' does not exist (NOT_FOUND)"


@pytest.mark.skipif(skopeo.SKOPEO is None, reason=skopeo.SKIP_REASON)
def test_a_robot_pushes_and_pulls_with_skopeo_in_its_registry_only(registry, admin, tmp_path):
    reg, other = new_registry(admin), new_registry(admin)
    secret = admin.ok("robot", "create", reg, "ci", "--role", "Developer").splitlines()[1].rsplit(" ", 1)[1]
    creds = f"robot${reg}+ci:{secret}"
    image = build_image([random_layer(4096, seed=7)])
    write_oci_layout(tmp_path / "src", {"1": image})
    remote = f"docker://{registry.host}/{reg}/app:1"

    skopeo.run_skopeo("copy", "--dest-creds", creds, f"oci:{tmp_path / 'src'}:1", remote)
    skopeo.run_skopeo("copy", "--src-creds", creds, remote, f"oci:{tmp_path / 'back'}:1")
    assert read_oci_layout(tmp_path / "back", "1") == image.digest
    with pytest.raises(skopeo.SkopeoError):  # another registry: not even a pull
        skopeo.run_skopeo("copy", "--dest-creds", creds, f"oci:{tmp_path / 'src'}:1",
                          f"docker://{registry.host}/{other}/app:1")

    admin.ok("robot", "revoke", reg, "ci")
    with pytest.raises(skopeo.SkopeoError) as refused:
        skopeo.run_skopeo("copy", "--src-creds", creds, remote, f"oci:{tmp_path / 'again'}:1")
    assert "unauthorized" in refused.value.stderr.lower() or "401" in refused.value.stderr


def test_robot_create_json_output_holds_the_secret(registry, admin):
    reg = new_registry(admin)
    created = admin.json("robot", "create", reg, "scanner", "--role", "Guest", "--expires-in-days", "7")
    assert created["login"] == f"robot${reg}+scanner" and created["expires_at"]
    auth = (created["login"], created["secret"])
    assert granted(token(registry, f"repository:{reg}/app:pull,push", auth)) == ["pull"]
    missing = unique("noreg")
    assert admin.fails("robot", "create", missing, "x").startswith(f"moorage: registry '{missing}' does not exist")


# ---- members ---------------------------------------------------------------------------------

def test_member_grant_gives_a_role_and_revoke_takes_it(registry, admin):
    reg, name, password = new_registry(admin), unique("u"), uuid.uuid4().hex
    admin.ok("user", "create", name, "--password-stdin", stdin=password + "\n")
    scope = f"repository:{reg}/app:pull,push"
    assert granted(token(registry, scope, (name, password))) == []

    assert admin.ok("member", "grant", reg, "user", name, "Developer").strip() == \
        f"user {name} is Developer in {reg}"
    assert granted(token(registry, scope, (name, password))) == ["pull", "push"]
    assert {"type": "user", "name": name, "role": "Developer"} in admin.json("member", "list", reg)
    assert f"{reg}:Developer" in next(line for line in admin.ok("user", "list").splitlines()
                                      if line.split()[0] == name)

    admin.ok("member", "revoke", reg, "user", name)
    assert granted(token(registry, scope, (name, password))) == []
    assert admin.json("member", "list", reg) == []


def test_member_grant_to_a_group_reaches_its_users(registry, admin):
    reg, group, name, password = new_registry(admin), unique("g"), unique("u"), uuid.uuid4().hex
    admin.ok("group", "create", group)
    admin.ok("user", "create", name, "--group", group, "--password-stdin", stdin=password + "\n")
    admin.ok("member", "grant", reg, "group", group, "Guest")
    assert granted(token(registry, f"repository:{reg}/app:pull,push", (name, password))) == ["pull"]


def test_member_errors(admin):
    reg, nobody = new_registry(admin), unique("nobody")
    assert admin.fails("member", "grant", reg, "user", nobody, "Developer") == \
        f"moorage: user '{nobody}' does not exist (NOT_FOUND)"
    assert "INVALID_ARGUMENT" in admin.fails("member", "grant", reg, "user", "admin", "Overlord")


# ---- policies --------------------------------------------------------------------------------

def test_policy_put_from_a_file_and_list(registry, admin, tmp_path):
    reg, name, password = new_registry(admin), unique("u"), uuid.uuid4().hex
    admin.ok("user", "create", name, "--password-stdin", stdin=password + "\n")
    document = {"Statement": [{"Effect": "Allow", "Action": PULL_POLICY, "Resource": f"mrn:repository:{reg}/*"}]}
    (tmp_path / "pull.json").write_text(json.dumps(document))

    put = json.loads(admin.ok("policy", "put", "--user", name, "--name", "pull-only", str(tmp_path / "pull.json")))
    assert put["name"] == "pull-only"
    assert put["document"]["Statement"][0]["Resource"] == [f"mrn:repository:{reg}/*"]
    assert granted(token(registry, f"repository:{reg}/app:pull,push", (name, password))) == ["pull"]

    listed = json.loads(admin.ok("policy", "get", "--user", name))["policies"]
    assert list(listed) == ["pull-only"]
    assert listed["pull-only"]["Statement"][0]["Action"] == [PULL_POLICY]
    assert "pull-only" in next(u for u in admin.json("user", "list") if u["name"] == name)["policies"]

    assert admin.ok("policy", "delete", "--user", name, "--name", "pull-only").strip() == "deleted"
    assert json.loads(admin.ok("policy", "get", "--user", name)) == {"policies": {}}
    assert granted(token(registry, f"repository:{reg}/app:pull", (name, password))) == []


def test_policy_put_from_stdin_for_a_group_and_a_registry(registry, admin):
    reg, group = new_registry(admin), unique("g")
    admin.ok("group", "create", group)
    document = json.dumps({"Statement": [{"Effect": "Allow", "Action": PULL_POLICY,
                                          "Resource": f"mrn:repository:{reg}/*"}]})
    admin.ok("policy", "put", "--group", group, "--name", "readers", "-", stdin=document)
    assert list(json.loads(admin.ok("policy", "get", "--group", group))["policies"]) == ["readers"]

    assert granted(token(registry, f"repository:{reg}/pub:pull", None)) == []
    admin.ok("policy", "put", "--registry", reg, "-", stdin=document)  # public pull
    assert json.loads(admin.ok("policy", "get", "--registry", reg))["policy"]["Statement"][0]["Action"] == \
        [PULL_POLICY]
    assert granted(token(registry, f"repository:{reg}/pub:pull", None)) == ["pull"]


def test_policy_errors_are_one_clear_line(admin, tmp_path):
    name = unique("u")
    admin.ok("user", "create", name, "--password-stdin", stdin=uuid.uuid4().hex + "\n")
    (tmp_path / "bad.json").write_text('{"Statement": ')
    error = admin.fails("policy", "put", "--user", name, "--name", "p", str(tmp_path / "bad.json"))
    assert error.startswith(f"moorage: {tmp_path / 'bad.json'}: not JSON")
    missing = tmp_path / "missing.json"
    assert admin.fails("policy", "put", "--user", name, "--name", "p", str(missing)) == \
        f"moorage: {missing}: cannot read (No such file or directory)"

    (tmp_path / "maybe.json").write_text(json.dumps({"Statement": [{"Effect": "Maybe", "Action": "*",
                                                                    "Resource": "*"}]}))
    invalid = admin.fails("policy", "put", "--user", name, "--name", "p", str(tmp_path / "maybe.json"))
    assert invalid.startswith("moorage: invalid policy: ") and invalid.endswith("(INVALID_ARGUMENT)")
    assert admin.fails("policy", "put", "--user", name, "-", stdin="{}") == "moorage: --name POLICY is required"
    nobody = unique("nobody")
    assert admin.fails("policy", "get", "--user", nobody) == f"moorage: user '{nobody}' does not exist (NOT_FOUND)"
    assert json.loads(admin.ok("policy", "get", "--user", name)) == {"policies": {}}


# ---- output ----------------------------------------------------------------------------------

def test_json_output_parses_everywhere(admin):
    reg = new_registry(admin)
    admin.ok("robot", "create", reg, "bot")
    for command in (("user", "list"), ("group", "list"), ("robot", "list", reg), ("member", "list", reg),
                    ("registry", "list")):
        assert isinstance(admin.json(*command), list), command
    assert reg in {r["name"] for r in admin.json("registry", "list")}
