"""Log test sessions in the way registry clients do (docker token authentication): the
CLI's TokenAuth answers each 401 challenge with a token for the challenged scope."""
from __future__ import annotations

import requests

from chalicelib.cli.auth import TokenAuth


def authed_session(registry) -> requests.Session:
    """A session that logs in to `registry` (a RunningRegistry) as its administrator."""
    session = requests.Session()
    session.auth = TokenAuth(registry.url, registry.username, registry.password)
    return session
