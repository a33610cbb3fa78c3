"""Management-level errors of the registry service (the /v2/ protocol's are OciError)."""
from __future__ import annotations


class InvalidSetting(ValueError):
    """A setting or policy a caller asked for is not valid (400)."""


class Conflict(Exception):
    """The request contradicts the current state (409)."""


class NotFound(LookupError):
    """No such registry, repository, tag or artifact (404)."""


class PreconditionFailed(Exception):
    """If-Match named a revision that is not the current one (412)."""
