"""Repository names, tags and references (distribution-spec, spec.md "Pulling manifests").

In moorage the first path component of a name is the registry (the tenant) and
the rest is the repository inside it: "acme/team/app/web" is registry "acme",
repository "team/app/web".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .digest import Digest
from .errors import Code, OciError

# One name component, the repeated unit of the spec's <name> expression:
#   [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:\.|_|__|-+)"
_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
COMPONENT_RE = re.compile(_COMPONENT)

# spec: "<name> MUST match the following regular expression:
#   [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*"
NAME_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")

# spec: "Throughout this document, <reference> as a tag MUST be at most 128 characters
#   in length and MUST match the following regular expression:
#   [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}"
TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")

# spec: "Many clients impose a limit of 255 characters on the length of the
#   concatenation of the registry hostname (and optional port), /, and <name> value."
MAX_NAME_LENGTH = 255
# A registry name is one component, kept to a DNS label's length so it can also
# name hosts and bucket prefixes.
MAX_REGISTRY_LENGTH = 63

_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-/")


def _clip(text: str, limit: int = 2 * MAX_NAME_LENGTH) -> str:
    """Echo junk input back in a detail without echoing megabytes of it."""
    return text if len(text) <= limit else text[:limit] + "..."


def _name_invalid(text: object, message: str) -> OciError:
    return OciError(Code.NAME_INVALID, detail={"name": text}, message=message)


def _component_problem(component: str) -> str:
    """Why one component of an otherwise lowercase-alphanumeric name does not match."""
    if not component:
        return "repository name has an empty path component (leading, trailing or doubled '/')"
    if not (component[0].isalnum() and component[-1].isalnum()):
        return f"path component {component!r} must start and end with a lowercase letter or digit"
    return f"path component {component!r} has an invalid separator; use '.', '_', '__' or dashes"


def _name_problem(text: str) -> str | None:
    """None for a valid "<registry>/<repository>" name, else what is wrong with it."""
    if len(text) > MAX_NAME_LENGTH:
        return f"repository name is {len(text)} characters long; the limit is {MAX_NAME_LENGTH}"
    if NAME_RE.fullmatch(text):
        return None if "/" in text else "repository name must be <registry>/<repository>"
    if not text:
        return "repository name must not be empty"
    for c in text:  # the first bad character decides the message
        if "A" <= c <= "Z":
            return "uppercase letters are not allowed in repository names"
        if c not in _NAME_CHARACTERS:
            return f"character {c!r} is not allowed in repository names"
    for component in text.split("/"):
        if not COMPONENT_RE.fullmatch(component):
            return _component_problem(component)
    return "invalid repository name"  # not reached: some component failed above


@dataclass(frozen=True, order=True)
class RepoName:
    """A repository name split into its registry and the repository path inside it."""

    registry: str
    repository: str

    def __post_init__(self) -> None:
        if not (isinstance(self.registry, str) and isinstance(self.repository, str)):
            raise _name_invalid(None, "repository name must be a string")
        if "/" in self.registry:
            raise _name_invalid(str(self), "registry must be a single path component")
        problem = _name_problem(str(self))
        if problem:
            raise _name_invalid(str(self), problem)

    @classmethod
    def parse(cls, text: str) -> RepoName:
        if not isinstance(text, str):
            raise _name_invalid(repr(text), "repository name must be a string")
        problem = _name_problem(text)
        if problem:
            raise _name_invalid(_clip(text), problem)
        registry, _, repository = text.partition("/")
        return cls(registry, repository)

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}"


@dataclass(frozen=True, order=True)
class Tag:
    """A validated tag."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str):
            detail = {"tag": repr(self.value)}
            raise OciError(Code.TAG_INVALID, detail=detail, message="tag must be a string")
        if not TAG_RE.fullmatch(self.value):
            detail = {"tag": _clip(self.value)}
            if len(self.value) > 128:
                message = f"tag is {len(self.value)} characters long; the limit is 128"
            else:
                message = (
                    f"invalid tag {self.value!r}: "
                    "must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}"
                )
            raise OciError(Code.TAG_INVALID, detail=detail, message=message)

    @classmethod
    def parse(cls, text: str) -> Tag:
        return cls(text)

    def __str__(self) -> str:
        return self.value


def parse_reference(text: str) -> Tag | Digest:
    """A manifest reference: a digest when it has a ':' (tags cannot), else a tag."""
    if isinstance(text, str) and ":" in text:
        return Digest.parse(text)
    return Tag.parse(text)


def parse_registry_name(text: str) -> str:
    """A registry name: one name component of at most 63 characters."""
    if not isinstance(text, str):
        detail = {"registry": repr(text)}
        raise OciError(Code.NAME_INVALID, detail=detail, message="registry name must be a string")
    if len(text) > MAX_REGISTRY_LENGTH:
        message = (
            f"registry name is {len(text)} characters long; "
            f"the limit is {MAX_REGISTRY_LENGTH}"
        )
        raise OciError(Code.NAME_INVALID, detail={"registry": _clip(text)}, message=message)
    if not COMPONENT_RE.fullmatch(text):
        message = (
            "registry name must be lowercase letters and digits "
            "joined by '.', '_', '__' or '-'"
        )
        raise OciError(Code.NAME_INVALID, detail={"registry": text}, message=message)
    return text
