"""Secret rules: each token format found, placeholders and prose left alone, and no
finding ever carries a whole secret."""

from __future__ import annotations

import pytest

from chalicelib.scanner.secrets.detect import find_secrets, redact, wants

# Built from pieces so that no complete fake token sits in this file.
GITHUB = "ghp_" + "Zx9" * 12
GITHUB_PAT = "github_pat_" + "11ABCDEFG0" + "a1" * 36
GITLAB = "glpat-" + "Xy7_" * 5
SLACK = "xoxb-" + "2637152312-" + "4912345678901-" + "AbCdEfGhIjKlMnOpQrStUvWx"
STRIPE = "sk_live_" + "51Hb" * 6
GOOGLE = "AIza" + "SyD-" + "k" * 31
JWT = "eyJhbGciOiJIUzI1NiJ9" + "." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0" + "." + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
AWS_ID = "AKIA" + "Q3VZ7TLB2KXM4NPR"
AWS_SECRET = "9drTJvcXLB89hY3kpoWQEmq2/fZqWNhHfBtz7mZJ"
PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + ("MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2" + "Qx8kVb0pL3nR7tYw5eH1aZ9cD4fG6jK2\n") * 5 + "-----END RSA PRIVATE KEY-----\n"


@pytest.mark.parametrize("path, text, rule", [
    ("srv/app/deploy.sh", f"export GITHUB_TOKEN={GITHUB}\n", "github-token"),
    ("srv/app/notes.txt", f"token {GITHUB_PAT} here\n", "github-fine-grained-token"),
    ("root/.gitlab", f"{GITLAB}\n", "gitlab-token"),
    ("srv/bot.py", f'client = WebClient(token="{SLACK}")\n', "slack-token"),
    ("srv/hook.py", "URL = 'https://hooks.slack.com/services/T0ABCDEFG/B0HIJKLMN/abcdefghijklmnopqrstuvwx'\n", "slack-webhook"),
    ("srv/pay.rb", f"Stripe.api_key = '{STRIPE}'\n", "stripe-secret-key"),
    ("srv/maps.js", f"const key = '{GOOGLE}';\n", "google-api-key"),
    ("root/.ssh/id_rsa", PEM, "private-key"),
    ("srv/session.txt", f"Authorization: Bearer {JWT}\n", "jwt"),
    ("srv/app/.env", "DATABASE_PASSWORD=s3cr3tPa55w0rd\n", "generic-secret-assignment"),
])
def test_each_rule_finds_its_format(path, text, rule):
    matches = find_secrets(path, text.encode())
    assert [m.rule.id for m in matches] == [rule]


def test_aws_key_pair_and_lines():
    text = f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n"
    matches = find_secrets("root/.aws/credentials", text.encode())
    assert [(m.rule.id, m.line) for m in matches] == [("aws-access-key-id", 2), ("aws-secret-access-key", 3)]


def test_aws_documentation_examples_are_not_secrets():
    text = b"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    assert find_secrets("srv/docs/credentials.conf", text) == []


def test_generic_assignments_not_in_third_party_packages():
    assert find_secrets("app/site-packages/botocore/data/iam/examples-1.json", b'{"Password": "h]6EszR}vJ*m"}') == []


def test_a_40_character_string_alone_is_not_an_aws_secret():
    assert find_secrets("srv/app/hashes.txt", f"sha1 {AWS_SECRET}\n".encode()) == []


@pytest.mark.parametrize("value", [
    "changeme", "${DB_PASSWORD}", "{{ .Values.password }}", "<your-password>", "DB_PASSWORD", "xxxxxxxx",
    "os.environ['PASSWORD']", "%(password)s", "********", "your_password_here", "example123",
])
def test_placeholders_are_not_secrets(value):
    assert find_secrets("etc/app/config.yaml", f"password: {value}\n".encode()) == []


def test_generic_assignments_only_in_config_files():
    assert find_secrets("srv/app/main.py", b'password = "s3cr3tPa55w0rd"\n') == []
    assert find_secrets("srv/app/settings.ini", b'password = "s3cr3tPa55w0rd"\n')


def test_pem_header_without_a_key_is_not_a_key():
    code = b'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):\n    parse(line)\n'
    assert find_secrets("usr/lib/python3/dist-packages/x/pem.py", code) == []


@pytest.mark.parametrize("secret", [GITHUB, GITHUB_PAT, GITLAB, SLACK, STRIPE, GOOGLE, JWT, AWS_ID, AWS_SECRET,
                                    PEM.splitlines()[1]])
def test_findings_never_hold_the_whole_secret(secret):
    text = f"[default]\naws_access_key_id = {AWS_ID}\nkey = {secret}\n{PEM}".encode()
    for match in find_secrets("srv/app/credentials.conf", text):
        assert secret not in match.match
        # More than half of the secret is always hidden.
        assert sum(1 for c in match.match if c == "*") >= 6


def test_redaction_keeps_a_short_prefix():
    assert redact(GITHUB).startswith("ghp_Zx9") and GITHUB[10:] not in redact(GITHUB)
    assert redact("abc") == "***"


def test_binary_content_and_skipped_paths():
    assert find_secrets("srv/x.bin", b"\0\0" + GITHUB.encode()) == []
    assert not wants("usr/share/doc/openssl/README")
    assert not wants("srv/app/logo.png")
    assert not wants("usr/lib/python3.11/site-packages/paramiko/tests/test_rsa.key")
    assert wants("srv/app/tests/fixtures.env")
    assert wants("root/.aws/credentials")
    assert wants("etc/app/settings.yaml") and wants("usr/local/bin/deploy.sh")
    # Published code is searched only where credentials are kept.
    assert not wants("srv/app/node_modules/express/lib/router.js")
    assert not wants("usr/lib/python3/dist-packages/yaml/__init__.py")
    assert wants("srv/app/node_modules/some-pkg/.npmrc")
    assert wants("usr/lib/ssl/private/server.key")
