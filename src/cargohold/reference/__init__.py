"""References: repository names, tags and digests, validated by the OCI grammar."""

from cargohold.reference.digest import (
    ALGORITHMS,
    CANONICAL,
    Digest,
    Digester,
    Hasher,
    is_digest,
    new_hasher,
)
from cargohold.reference.name import NAME_TOTAL_LENGTH_MAX, validate_name, validate_tag

__all__ = [
    "ALGORITHMS",
    "CANONICAL",
    "NAME_TOTAL_LENGTH_MAX",
    "Digest",
    "Digester",
    "Hasher",
    "is_digest",
    "new_hasher",
    "validate_name",
    "validate_tag",
]
