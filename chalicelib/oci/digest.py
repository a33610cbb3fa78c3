"""Content digests (image-spec descriptor.md, "Digests") and streamed verification."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .errors import Code, OciError

# image-spec descriptor.md: "A digest string MUST match the following grammar":
# algorithm-component   ::= [a-z0-9]+
_ALGORITHM_COMPONENT = r"[a-z0-9]+"
# algorithm-separator   ::= [+._-]
_ALGORITHM_SEPARATOR = r"[+._-]"
# algorithm             ::= algorithm-component (algorithm-separator algorithm-component)*
_ALGORITHM = rf"{_ALGORITHM_COMPONENT}(?:{_ALGORITHM_SEPARATOR}{_ALGORITHM_COMPONENT})*"
# encoded               ::= [a-zA-Z0-9=_-]+
_ENCODED = r"[a-zA-Z0-9=_-]+"
# digest                ::= algorithm ":" encoded
DIGEST_RE = re.compile(rf"(?P<algorithm>{_ALGORITHM}):(?P<encoded>{_ENCODED})")

# Registered algorithms we support, with the encoding each one requires:
# sha256: "the encoded portion MUST match /[a-f0-9]{64}/"
# sha512: "the encoded portion MUST match /[a-f0-9]{128}/"
_ENCODINGS = {
    "sha256": re.compile(r"[a-f0-9]{64}"),
    "sha512": re.compile(r"[a-f0-9]{128}"),
}
SUPPORTED_ALGORITHMS = frozenset(_ENCODINGS)

# The longest digest we accept is "sha512:" + 128 hex; the cap bounds the work and
# the size of the detail echoed back for junk input.
MAX_DIGEST_LENGTH = 256


def _invalid(detail: object, message: str) -> OciError:
    return OciError(Code.DIGEST_INVALID, detail=detail, message=message)


def _check_algorithm(algorithm: str, detail: object) -> None:
    if algorithm not in _ENCODINGS:
        raise _invalid(
            detail,
            f"unsupported digest algorithm {algorithm!r}; use sha256 or sha512",
        )


@dataclass(frozen=True, order=True)
class Digest:
    """A validated "<algorithm>:<encoded>" content identifier."""

    algorithm: str
    encoded: str

    def __post_init__(self) -> None:
        # Validated on construction, so an invalid Digest cannot exist.
        text = f"{self.algorithm}:{self.encoded}"
        if not (
            isinstance(self.algorithm, str)
            and isinstance(self.encoded, str)
            and DIGEST_RE.fullmatch(text)
        ):
            raise _invalid(text, f"invalid digest {text!r}")
        _check_algorithm(self.algorithm, text)
        if not _ENCODINGS[self.algorithm].fullmatch(self.encoded):
            length = 64 if self.algorithm == "sha256" else 128
            raise _invalid(
                text,
                f"invalid {self.algorithm} digest: expected {length} lowercase hex characters",
            )

    @classmethod
    def parse(cls, text: str) -> Digest:
        if not isinstance(text, str):
            raise _invalid(repr(text), "digest must be a string")
        if len(text) > MAX_DIGEST_LENGTH:
            raise _invalid(text[:MAX_DIGEST_LENGTH] + "...", "digest is too long")
        match = DIGEST_RE.fullmatch(text)
        if match is None:
            raise _invalid(text, f"invalid digest {text!r}: expected <algorithm>:<encoded>")
        return cls(match["algorithm"], match["encoded"])

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        _check_algorithm(algorithm, algorithm)
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    @property
    def hex(self) -> str:
        return self.encoded

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"


class DigestHasher:
    """Hashes bytes as they stream in, then checks them against the expected digest."""

    def __init__(self, algorithm: str = "sha256"):
        _check_algorithm(algorithm, algorithm)
        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)
        self._size = 0

    def update(self, data: bytes) -> None:
        self._hash.update(data)
        self._size += memoryview(data).nbytes

    @property
    def size(self) -> int:
        return self._size

    def digest(self) -> Digest:
        # hexdigest() does not finalize, so more data may still follow.
        return Digest(self.algorithm, self._hash.hexdigest())

    def verify(self, expected: Digest) -> None:
        actual = self.digest()
        if actual != expected:
            raise OciError(
                Code.DIGEST_INVALID,
                detail={"expected": str(expected), "actual": str(actual)},
            )
