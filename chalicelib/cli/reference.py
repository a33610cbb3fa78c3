"""Image references as the push and pull commands take them: NAME:TAG or NAME@DIGEST."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.oci import TAG_RE

from .api import CliError
from .layout import check_digest


@dataclass(frozen=True)
class Reference:
    """NAME:TAG or NAME@DIGEST (NAME alone means NAME:latest)."""

    name: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, text: str) -> Reference:
        name, at, digest = text.partition("@")
        tag = None
        colon = name.rfind(":")
        if colon > name.rfind("/"):
            name, tag = name[:colon], name[colon + 1:]
        if not name or name.startswith("/") or name.endswith("/"):
            raise CliError(f"{text!r} is not a reference: use NAME:TAG or NAME@DIGEST (e.g. library/hello:1)")
        if at:
            check_digest(digest)
        elif tag is None:
            tag = "latest"
        if tag is not None and not TAG_RE.fullmatch(tag):
            raise CliError(f"{tag!r} is not a valid tag (letters, digits, '_', '.', '-'; at most 128)")
        return cls(name, tag, digest or None)

    @property
    def target(self) -> str:
        """What goes after /manifests/: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")
