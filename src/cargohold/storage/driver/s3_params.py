"""Parameters of the S3 driver (``storage.s3``), parsed and checked as CNCF Distribution does.

Keys match Distribution's ``s3`` driver, including ``objectacl``, ``useragent``,
``usedualstack``, ``accelerate`` and ``usefipsendpoint``. Accepted without effect: ``loglevel``
(the SDK's logging is not exposed); ``v4auth: false`` selects the legacy signer. Stricter than
Distribution: ``accesskey`` and ``secretkey`` must be set together, and no ACL is sent unless
``objectacl`` is set (buckets with ACLs disabled reject one). cargohold extension:
``redirect_expiry``, how long a presigned redirect URL stays valid (seconds or a duration such
as ``20m``; default 20 minutes, the value Distribution hard-codes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cargohold.storage.driver.factory import bool_param, check_params, int_param

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_PART_SIZE",
    "MIN_PART_SIZE",
    "S3Parameters",
    "parse_parameters",
]

MiB: Final = 1 << 20
GiB: Final = 1 << 30
# S3's multipart limits: every part but the last is at least 5 MiB, none above 5 GiB.
MIN_PART_SIZE: Final = 5 * MiB
MAX_PART_SIZE: Final = 5 * GiB
DEFAULT_CHUNK_SIZE: Final = 10 * MiB
# A presigned SigV4 URL lives at most seven days.
MAX_REDIRECT_EXPIRY: Final = 7 * 24 * 3600

STORAGE_CLASSES: Final = (
    "NONE",  # send no storage class, for endpoints that reject the header
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "OUTPOSTS",
    "GLACIER_IR",
    "EXPRESS_ONEZONE",
)
OBJECT_ACLS: Final = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)
KNOWN_KEYS: Final = (
    "accelerate",
    "accesskey",
    "bucket",
    "chunksize",
    "encrypt",
    "forcepathstyle",
    "keyid",
    "loglevel",
    "multipartcopychunksize",
    "multipartcopymaxconcurrency",
    "multipartcopythresholdsize",
    "objectacl",
    "redirect_expiry",
    "region",
    "regionendpoint",
    "rootdirectory",
    "secretkey",
    "secure",
    "skipverify",
    "storageclass",
    "usedualstack",
    "usefipsendpoint",
    "useragent",
    "v4auth",
)

_DURATION_PART: Final = re.compile(r"([0-9]+(?:\.[0-9]*)?)(h|m|s)")
_SECONDS: Final = {"h": 3600.0, "m": 60.0, "s": 1.0}


@dataclass(frozen=True, slots=True)
class S3Parameters:
    """Checked driver parameters; the secret key is left out of ``repr``."""

    bucket: str
    region: str = "us-east-1"
    regionendpoint: str = ""
    rootdirectory: str = ""
    accesskey: str = ""
    secretkey: str = field(default="", repr=False)
    secure: bool = True
    skipverify: bool = False
    forcepathstyle: bool = False
    v4auth: bool = True
    chunksize: int = DEFAULT_CHUNK_SIZE
    multipartcopychunksize: int = 32 * MiB
    multipartcopymaxconcurrency: int = 100
    multipartcopythresholdsize: int = 32 * MiB
    storageclass: str = "STANDARD"
    encrypt: bool = False
    keyid: str = ""
    objectacl: str = ""  # empty: send no ACL, as buckets with ACLs disabled require
    useragent: str = ""
    usedualstack: bool = False
    accelerate: bool = False
    usefipsendpoint: bool = False
    redirect_expiry: float = 20 * 60.0

    @property
    def endpoint_url(self) -> str | None:
        """The endpoint URL for the client, or None to let the SDK derive it from the region."""
        endpoint = self.regionendpoint.strip()
        if not endpoint:
            return None
        if "://" in endpoint:
            return endpoint
        return f"{'https' if self.secure else 'http'}://{endpoint}"

    @property
    def key_prefix(self) -> str:
        """What object keys start with: the root directory without slashes at either end, plus one."""
        root = self.rootdirectory.strip("/")
        return f"{root}/" if root else ""


def _fail(key: str, message: str) -> ValueError:
    return ValueError(f"s3 driver: {key} {message}")


def _str(params: Mapping[str, Any], key: str, default: str = "") -> str:
    value = params.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _fail(key, f"must be a string, got {value!r}")
    return str(value)


def _bool(params: Mapping[str, Any], key: str, default: bool) -> bool:
    return bool_param("s3", params, key, default)


def _int(params: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = int_param("s3", params, key, default)
    if not low <= value <= high:
        raise _fail(key, f"must be between {low} and {high}, got {value}")
    return value


def parse_duration(value: object, key: str = "redirect_expiry") -> float:
    """Seconds from a number of seconds or a duration like ``20m``, ``1h30m`` or ``90s``."""
    if isinstance(value, bool):
        raise _fail(key, f"must be a duration, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[0-9]+(?:\.[0-9]*)?", text):
            return float(text)
        if text and re.fullmatch(f"(?:{_DURATION_PART.pattern})+", text):
            return sum(float(n) * _SECONDS[u] for n, u in _DURATION_PART.findall(text))
    raise _fail(key, f"must be a duration such as 20m or a number of seconds, got {value!r}")


def parse_parameters(params: Mapping[str, Any]) -> S3Parameters:
    """Check ``params`` (Distribution's keys) and fill in defaults; ValueError names the bad key."""
    check_params("s3", params, KNOWN_KEYS)
    bucket = _str(params, "bucket").strip()
    if not bucket:
        raise _fail("bucket", "is required")
    endpoint = _str(params, "regionendpoint").strip()
    region = _str(params, "region").strip()
    if not region:
        if not endpoint:
            raise _fail("region", "is required unless regionendpoint is set")
        region = "us-east-1"  # S3-compatible servers mostly ignore it, SigV4 needs one
    storageclass = _str(params, "storageclass", "STANDARD").strip().upper()
    if storageclass not in STORAGE_CLASSES:
        raise _fail("storageclass", f"must be one of {', '.join(STORAGE_CLASSES)}")
    objectacl = _str(params, "objectacl").strip()
    if objectacl and objectacl not in OBJECT_ACLS:
        raise _fail("objectacl", f"must be one of {', '.join(OBJECT_ACLS)}")
    loglevel = params.get("loglevel")
    if loglevel is not None and not isinstance(loglevel, str | bool):
        raise _fail("loglevel", f"must be a string, got {loglevel!r}")
    accesskey, secretkey = _str(params, "accesskey"), _str(params, "secretkey")
    if bool(accesskey) != bool(secretkey):
        # Distribution silently falls back to the credential chain; a half-set pair is a typo.
        raise _fail("accesskey/secretkey", "must be set together (or both left out)")
    expiry = parse_duration(params.get("redirect_expiry", 20 * 60.0))
    if not 1 <= expiry <= MAX_REDIRECT_EXPIRY:
        raise _fail("redirect_expiry", f"must be between 1s and 7 days, got {expiry:g}s")
    return S3Parameters(
        bucket=bucket,
        region=region,
        regionendpoint=endpoint,
        rootdirectory=_str(params, "rootdirectory"),
        accesskey=accesskey,
        secretkey=secretkey,
        secure=_bool(params, "secure", True),
        skipverify=_bool(params, "skipverify", False),
        forcepathstyle=_bool(params, "forcepathstyle", False),
        v4auth=_bool(params, "v4auth", True),
        chunksize=_int(params, "chunksize", DEFAULT_CHUNK_SIZE, MIN_PART_SIZE, MAX_PART_SIZE),
        multipartcopychunksize=_int(
            params, "multipartcopychunksize", 32 * MiB, MIN_PART_SIZE, MAX_PART_SIZE
        ),
        multipartcopymaxconcurrency=_int(params, "multipartcopymaxconcurrency", 100, 1, 10_000),
        multipartcopythresholdsize=_int(
            params, "multipartcopythresholdsize", 32 * MiB, 0, MAX_PART_SIZE
        ),
        storageclass=storageclass,
        encrypt=_bool(params, "encrypt", False),
        keyid=_str(params, "keyid").strip(),
        objectacl=objectacl,
        useragent=_str(params, "useragent"),
        usedualstack=_bool(params, "usedualstack", False),
        accelerate=_bool(params, "accelerate", False),
        usefipsendpoint=_bool(params, "usefipsendpoint", False),
        redirect_expiry=expiry,
    )
