import pytest

from chalicelib.oci import (
    Action,
    Code,
    Digest,
    OciError,
    RepoName,
    Route,
    RouteMatch,
    Tag,
    action_for,
    allowed_methods,
    match_route,
)

D = "sha256:" + "ab" * 32
DIGEST = Digest.parse(D)


def name(text):
    return RepoName.parse(text)


def manifest(repo, reference):
    return RouteMatch(Route.MANIFEST, name(repo), reference=reference)


def blob(repo):
    return RouteMatch(Route.BLOB, name(repo), digest=DIGEST)


def upload(repo, upload_id):
    return RouteMatch(Route.UPLOAD, name(repo), upload_id=upload_id)


@pytest.mark.parametrize(
    "path, expected",
    [
        ("", RouteMatch(Route.BASE)),
        ("/", RouteMatch(Route.BASE)),
        ("/_catalog", RouteMatch(Route.CATALOG)),
        ("/acme/web/tags/list", RouteMatch(Route.TAGS, name("acme/web"))),
        ("/acme/team/app/web/tags/list", RouteMatch(Route.TAGS, name("acme/team/app/web"))),
        ("/acme/web/manifests/latest", manifest("acme/web", Tag("latest"))),
        (f"/acme/web/manifests/{D}", manifest("acme/web", DIGEST)),
        (f"/acme/web/blobs/{D}", blob("acme/web")),
        ("/acme/web/blobs/uploads/", RouteMatch(Route.UPLOAD_START, name("acme/web"))),
        ("/acme/web/blobs/uploads", RouteMatch(Route.UPLOAD_START, name("acme/web"))),
        ("/acme/web/blobs/uploads/abc-DEF_123", upload("acme/web", "abc-DEF_123")),
        (f"/acme/web/referrers/{D}", RouteMatch(Route.REFERRERS, name("acme/web"), digest=DIGEST)),
        # Names may contain route words; the last occurrence is the route.
        ("/acme/blobs/tags/list", RouteMatch(Route.TAGS, name("acme/blobs"))),
        ("/acme/tags/list/tags/list", RouteMatch(Route.TAGS, name("acme/tags/list"))),
        ("/acme/manifests/manifests/v1", manifest("acme/manifests", Tag("v1"))),
        (
            "/acme/blobs/manifests/web/manifests/latest",
            manifest("acme/blobs/manifests/web", Tag("latest")),
        ),
        (f"/acme/manifests/latest/blobs/{D}", blob("acme/manifests/latest")),
        ("/acme/blobs/uploads/blobs/uploads/", RouteMatch(Route.UPLOAD_START, name("acme/blobs/uploads"))),
        ("/acme/blobs/uploads/blobs/uploads/x1", upload("acme/blobs/uploads", "x1")),
        (f"/acme/blobs/uploads/blobs/{D}", blob("acme/blobs/uploads")),
        (f"/acme/referrers/referrers/{D}", RouteMatch(Route.REFERRERS, name("acme/referrers"), digest=DIGEST)),
    ],
)
def test_match(path, expected):
    assert match_route(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/_catalog/",
        "//",
        "/acme/web",
        "/acme/web/",
        "/acme/web/tags",
        "/acme/web/tags/list/",
        "/acme/web/manifests",
        "/acme/web/manifests/",
        "/acme/web/blobs",
        "/acme/web/blobs/",
        "/acme/web/referrers/",
        "/tags/list",
        "/manifests/latest",
        "acme/web/tags/list",  # no leading slash
        "/acme/web/manifests/latest/extra",
        None,
    ],
)
def test_unknown_routes(path):
    with pytest.raises(OciError) as info:
        match_route(path)
    assert info.value.code is Code.UNSUPPORTED
    assert info.value.status == 404
    assert info.value.message == "unknown API route"


@pytest.mark.parametrize(
    "path, code",
    [
        ("/acme/tags/list", Code.NAME_INVALID),  # a name needs registry and repository
        ("/Acme/web/tags/list", Code.NAME_INVALID),
        ("/acme//web/tags/list", Code.NAME_INVALID),
        ("//acme/web/tags/list", Code.NAME_INVALID),
        ("/acme/web\n/tags/list", Code.NAME_INVALID),
        ("/acme/_catalog/tags/list", Code.NAME_INVALID),
        ("/acme/" + "a" * 300 + "/manifests/latest", Code.NAME_INVALID),
        ("/acme/web/manifests/.bad", Code.TAG_INVALID),
        ("/acme/web/manifests/" + "a" * 129, Code.TAG_INVALID),
        ("/acme/web/manifests/sha256:abc", Code.DIGEST_INVALID),
        ("/acme/web/blobs/latest", Code.DIGEST_INVALID),
        ("/acme/web/blobs/sha256:" + "AB" * 32, Code.DIGEST_INVALID),
        ("/acme/web/referrers/latest", Code.DIGEST_INVALID),
        ("/acme/web/blobs/uploads/a.b", Code.BLOB_UPLOAD_UNKNOWN),
        ("/acme/web/blobs/uploads/" + "a" * 129, Code.BLOB_UPLOAD_UNKNOWN),
        # The name is checked before the reference.
        ("/Acme/web/manifests/.bad", Code.NAME_INVALID),
    ],
)
def test_invalid_parameters(path, code):
    with pytest.raises(OciError) as info:
        match_route(path)
    assert info.value.code is code


@pytest.mark.parametrize(
    "route, method, action",
    [
        (Route.BASE, "GET", Action.PULL),
        (Route.BASE, "HEAD", Action.PULL),
        (Route.BASE, "POST", None),
        (Route.CATALOG, "GET", Action.PULL),
        (Route.CATALOG, "HEAD", None),
        (Route.TAGS, "GET", Action.PULL),
        (Route.TAGS, "DELETE", None),
        (Route.REFERRERS, "GET", Action.PULL),
        (Route.REFERRERS, "PUT", None),
        (Route.MANIFEST, "GET", Action.PULL),
        (Route.MANIFEST, "HEAD", Action.PULL),
        (Route.MANIFEST, "PUT", Action.PUSH),
        (Route.MANIFEST, "DELETE", Action.DELETE),
        (Route.MANIFEST, "POST", None),
        (Route.MANIFEST, "PATCH", None),
        (Route.BLOB, "GET", Action.PULL),
        (Route.BLOB, "HEAD", Action.PULL),
        (Route.BLOB, "DELETE", Action.DELETE),
        (Route.BLOB, "PUT", None),
        (Route.UPLOAD_START, "POST", Action.PUSH),
        (Route.UPLOAD_START, "GET", None),
        (Route.UPLOAD, "GET", Action.PUSH),
        (Route.UPLOAD, "PATCH", Action.PUSH),
        (Route.UPLOAD, "PUT", Action.PUSH),
        (Route.UPLOAD, "DELETE", Action.PUSH),
        (Route.UPLOAD, "POST", None),
        (Route.MANIFEST, "get", None),  # methods are case-sensitive
        (Route.MANIFEST, "OPTIONS", None),
    ],
)
def test_action_for(route, method, action):
    assert action_for(route, method) is action


def test_every_route_has_actions_and_allowed_methods():
    for route in Route:
        methods = allowed_methods(route)
        assert methods
        assert all(action_for(route, m) is not None for m in methods)
    assert set(allowed_methods(Route.MANIFEST)) == {"GET", "HEAD", "PUT", "DELETE"}


def test_action_values():
    assert [a.value for a in Action] == ["pull", "push", "delete"]
