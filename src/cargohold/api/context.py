"""What handlers share: typed application and request keys, API settings and the route match.

Nothing here is global: ``create_app`` stores everything under these keys on its application.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from cargohold.metrics import Metrics
from cargohold.storage.base import Registry, Repository
from cargohold.storage.driver.base import StorageDriver

if TYPE_CHECKING:
    from cargohold.config import Config
    from cargohold.storage.cache.base import BlobDescriptorCacheProvider

# OCI distribution-spec §Pushing Manifests: registries SHOULD accept manifests of at least 4 MiB.
MAX_MANIFEST_SIZE = 4 * 1024 * 1024

# CNCF Distribution's catalog defaults (catalog.maxentries): 100 per page unless asked, 1000 at most.
CATALOG_DEFAULT_ENTRIES = 100
CATALOG_MAX_ENTRIES = 1000


class Kind(enum.Enum):
    """The resource a /v2/ path names."""

    BASE = "base"
    CATALOG = "catalog"
    TAGS = "tags"
    BLOB = "blob"
    UPLOADS = "uploads"
    UPLOAD = "upload"
    MANIFEST = "manifest"
    REFERRERS = "referrers"


@dataclass(frozen=True, slots=True)
class Match:
    """A parsed /v2/ path: the resource kind, the repository name and the trailing reference.

    ``name`` is validated; ``reference`` (digest, tag or upload id) is percent-decoded but left to
    the handler to validate, since only it knows which grammar applies.
    """

    kind: Kind
    name: str = ""
    reference: str = ""


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The slice of the configuration the HTTP layer needs, resolved once at start-up."""

    prefix: str = ""
    host: str | None = None
    relative_urls: bool = False
    headers: dict[str, list[str]] = field(default_factory=dict)
    read_only: bool = False
    max_manifest_size: int = MAX_MANIFEST_SIZE
    catalog_max_entries: int = CATALOG_MAX_ENTRIES
    # http.timeout.read/write in seconds; 0 waits forever for a stalled peer.
    read_timeout: float = 60.0
    write_timeout: float = 60.0

    @classmethod
    def from_config(cls, config: Config) -> ApiSettings:
        """Read ``http.*`` and ``storage.maintenance.readonly`` from ``config``."""
        return cls(
            prefix=normalize_prefix(config.http.prefix),
            host=(config.http.host or None),
            relative_urls=bool(config.http.relativeurls),
            headers={k: list(v) for k, v in (config.http.headers or {}).items()},
            read_only=bool(config.storage.maintenance.readonly.enabled),
            catalog_max_entries=config.catalog.maxentries,
            read_timeout=config.http.timeout.read.total_seconds(),
            write_timeout=config.http.timeout.write.total_seconds(),
        )


def normalize_prefix(prefix: str | None) -> str:
    """``"/registry/"`` -> ``"/registry"``; empty or ``"/"`` -> ``""``."""
    stripped = (prefix or "").strip().strip("/")
    return f"/{stripped}" if stripped else ""


SETTINGS: web.AppKey[ApiSettings] = web.AppKey("cargohold_settings", ApiSettings)
METRICS: web.AppKey[Metrics] = web.AppKey("cargohold_metrics", Metrics)
REGISTRY: web.AppKey[Registry] = web.AppKey("cargohold_registry")
DRIVER: web.AppKey[StorageDriver] = web.AppKey("cargohold_driver")
# A Protocol (or an Optional) is not a runtime class, so these keys carry their type in the hint.
CACHE: web.AppKey[BlobDescriptorCacheProvider | None] = web.AppKey("cargohold_cache")

MATCH: web.RequestKey[Match] = web.RequestKey("cargohold_match", Match)
REQUEST_ID: web.RequestKey[str] = web.RequestKey("cargohold_request_id", str)


def settings(request: web.Request) -> ApiSettings:
    return request.app[SETTINGS]


def match(request: web.Request) -> Match:
    return request[MATCH]


def repository(request: web.Request) -> Repository:
    """The services of the repository the request's path names."""
    return request.app[REGISTRY].repository(request[MATCH].name)


def request_id(request: web.Request) -> str:
    rid: str = request.get(REQUEST_ID, "-")
    return rid
