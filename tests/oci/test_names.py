import pytest

from chalicelib.oci import (
    MAX_NAME_LENGTH,
    NAME_RE,
    TAG_RE,
    Code,
    Digest,
    OciError,
    RepoName,
    Tag,
    parse_reference,
    parse_registry_name,
)

HEX64 = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    "text, registry, repository",
    [
        ("acme/web", "acme", "web"),
        ("acme/team/app/web", "acme", "team/app/web"),
        ("a/b", "a", "b"),
        ("0/9", "0", "9"),
        ("acme/my.app", "acme", "my.app"),
        ("acme/my_app", "acme", "my_app"),
        ("acme/my__app", "acme", "my__app"),
        ("acme/my-app", "acme", "my-app"),
        ("acme/my---app", "acme", "my---app"),
        ("acme/a.b_c__d-e--f", "acme", "a.b_c__d-e--f"),
        ("my-org.io/blobs/manifests/tags/list", "my-org.io", "blobs/manifests/tags/list"),
        ("a" * 127 + "/" + "b" * 127, "a" * 127, "b" * 127),  # 255 characters
    ],
)
def test_parse_valid(text, registry, repository):
    name = RepoName.parse(text)
    assert (name.registry, name.repository) == (registry, repository)
    assert str(name) == text
    assert RepoName(registry, repository) == name


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "must not be empty"),
        ("acme", "must be <registry>/<repository>"),
        ("Acme/web", "uppercase"),
        ("acme/Web", "uppercase"),
        ("acme/", "empty path component"),
        ("/acme/web", "empty path component"),
        ("acme//web", "empty path component"),
        ("acme/web/", "empty path component"),
        ("acme/.web", "must start and end"),
        ("acme/web.", "must start and end"),
        ("acme/-web", "must start and end"),
        ("acme/web-", "must start and end"),
        ("acme/_web", "must start and end"),
        ("acme/web__", "must start and end"),
        ("acme/we..b", "invalid separator"),
        ("acme/we___b", "invalid separator"),
        ("acme/we._b", "invalid separator"),
        ("acme/we-_b", "invalid separator"),
        ("acme/we b", "not allowed"),
        ("acme/web:latest", "not allowed"),
        ("acme/web@sha256", "not allowed"),
        ("acme/wéb", "not allowed"),
        ("acme/web\n", "not allowed"),
        ("acme/..", "must start and end"),
        ("a" * 128 + "/" + "b" * 127, "256 characters long"),
        ("a/" * 5000 + "b", "characters long"),
    ],
)
def test_parse_invalid(text, message):
    with pytest.raises(OciError) as info:
        RepoName.parse(text)
    assert info.value.code is Code.NAME_INVALID
    assert info.value.status == 400
    assert message in info.value.message
    assert set(info.value.detail) == {"name"}


@pytest.mark.parametrize("value", [None, 1, b"acme/web"])
def test_parse_rejects_non_strings(value):
    with pytest.raises(OciError) as info:
        RepoName.parse(value)
    assert info.value.code is Code.NAME_INVALID


def test_detail_echoes_the_name():
    with pytest.raises(OciError) as info:
        RepoName.parse("Acme/web")
    assert info.value.detail == {"name": "Acme/web"}


def test_constructor_validates():
    for registry, repository in [("acme/team", "web"), ("acme", ""), ("Acme", "web"), ("acme", None)]:
        with pytest.raises(OciError) as info:
            RepoName(registry, repository)
        assert info.value.code is Code.NAME_INVALID


def test_spec_regex_is_transcribed():
    assert MAX_NAME_LENGTH == 255
    assert NAME_RE.fullmatch("a/b.c/d__e/f---g")
    assert not NAME_RE.fullmatch("a/b___c")
    assert TAG_RE.fullmatch("_" + "x" * 127)
    assert not TAG_RE.fullmatch("x" * 129)


@pytest.mark.parametrize(
    "text",
    ["latest", "v1.2.3", "V1", "_private", "1.0-rc.1", "a" * 128, "sha256_" + HEX64, "x" * 127 + "."],
)
def test_tag_valid(text):
    tag = Tag.parse(text)
    assert tag.value == str(tag) == text
    assert Tag(text) == tag


@pytest.mark.parametrize(
    "text", ["", ".hidden", "-dash", "a" * 129, "a/b", "a:b", "a b", "tág", "a\n", "a@b", "a+b"]
)
def test_tag_invalid(text):
    with pytest.raises(OciError) as info:
        Tag.parse(text)
    assert info.value.code is Code.TAG_INVALID
    assert info.value.status == 400


def test_tag_too_long_says_so():
    with pytest.raises(OciError) as info:
        Tag.parse("a" * 129)
    assert "129 characters" in info.value.message


def test_tag_rejects_non_strings():
    with pytest.raises(OciError) as info:
        Tag.parse(None)
    assert info.value.code is Code.TAG_INVALID


@pytest.mark.parametrize(
    "text, expected",
    [
        ("latest", Tag("latest")),
        ("sha256_" + HEX64, Tag("sha256_" + HEX64)),
        ("sha256:" + HEX64, Digest("sha256", HEX64)),
    ],
)
def test_parse_reference(text, expected):
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    "text, code",
    [
        ("sha256:" + HEX64.upper(), Code.DIGEST_INVALID),
        ("sha256:abc", Code.DIGEST_INVALID),
        ("md5:d41d8cd98f00b204e9800998ecf8427e", Code.DIGEST_INVALID),
        (":", Code.DIGEST_INVALID),
        ("", Code.TAG_INVALID),
        (".latest", Code.TAG_INVALID),
        (None, Code.TAG_INVALID),
    ],
)
def test_parse_reference_invalid(text, code):
    with pytest.raises(OciError) as info:
        parse_reference(text)
    assert info.value.code is code


@pytest.mark.parametrize("text", ["acme", "a", "0", "my-org", "my.org", "my_org", "my__org", "a" * 63])
def test_registry_name_valid(text):
    assert parse_registry_name(text) == text


@pytest.mark.parametrize(
    "text", ["", "Acme", "acme/web", "-acme", "acme-", "a___b", "a..b", "a" * 64, "ac me", None, 7]
)
def test_registry_name_invalid(text):
    with pytest.raises(OciError) as info:
        parse_registry_name(text)
    assert info.value.code is Code.NAME_INVALID
