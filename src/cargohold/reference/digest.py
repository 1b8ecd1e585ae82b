"""Content digests (OCI image-spec "Digests"): parsing, registered algorithms and streaming digesters."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

from cargohold.errors import DigestInvalid, DigestUnsupported

# OCI image-spec descriptor.md §Digests: algorithm and encoded grammar. Always ``fullmatch``:
# ``$`` would also match before a trailing newline.
_DIGEST_RE = re.compile(r"([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)")

# Registered algorithms: name -> length of the lowercase hex encoding.
ALGORITHMS: dict[str, int] = {"sha256": 64, "sha512": 128}
CANONICAL = "sha256"
_HEX_RE = re.compile(r"[a-f0-9]+")


class Hasher(Protocol):
    """The subset of ``hashlib`` objects digesters rely on."""

    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """A validated digest of a registered algorithm; ``str()`` gives ``algorithm:hex``."""

    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @classmethod
    def parse(cls, value: str) -> Digest:
        """Parse ``algorithm:encoded``; raise DigestInvalid or DigestUnsupported."""
        m = _DIGEST_RE.fullmatch(value)
        if m is None:
            raise DigestInvalid(f"invalid digest {value[:200]!r}", detail={"digest": value[:200]})
        algorithm, encoded = m.group(1), m.group(2)
        length = ALGORITHMS.get(algorithm)
        if length is None:
            raise DigestUnsupported(
                f"unsupported digest algorithm {algorithm!r}", detail={"digest": value[:200]}
            )
        if len(encoded) != length or not _HEX_RE.fullmatch(encoded):
            raise DigestInvalid(
                f"invalid {algorithm} digest: expected {length} lowercase hex characters",
                detail={"digest": value[:200]},
            )
        return cls(algorithm, encoded)

    @classmethod
    def from_bytes(cls, data: bytes, algorithm: str = CANONICAL) -> Digest:
        """Digest ``data`` with ``algorithm``."""
        h = new_hasher(algorithm)
        h.update(data)
        return cls(algorithm, h.hexdigest())


def is_digest(value: str) -> bool:
    """Tell whether ``value`` looks like a digest reference (has the ``alg:`` form) rather than a tag."""
    return ":" in value


def new_hasher(algorithm: str) -> Hasher:
    """Return a fresh hashlib object for a registered algorithm; raise DigestUnsupported otherwise."""
    if algorithm not in ALGORITHMS:
        raise DigestUnsupported(f"unsupported digest algorithm {algorithm!r}")
    return hashlib.new(algorithm)


class Digester:
    """Incrementally digests a stream; ``offset`` counts the bytes seen so far."""

    __slots__ = ("_hasher", "algorithm", "offset")

    def __init__(self, algorithm: str = CANONICAL) -> None:
        self.algorithm = algorithm
        self._hasher = new_hasher(algorithm)
        self.offset = 0

    def update(self, data: bytes) -> None:
        self._hasher.update(data)
        self.offset += len(data)

    def digest(self) -> Digest:
        return Digest(self.algorithm, self._hasher.hexdigest())
