"""``GET /v2/<name>/referrers/<digest>``: manifests whose ``subject`` is the digest, as an index."""

from __future__ import annotations

from aiohttp import web

from cargohold.api import context
from cargohold.manifest import referrers_index
from cargohold.manifest.mediatypes import OCI_INDEX
from cargohold.reference import Digest


async def get(request: web.Request) -> web.StreamResponse:
    """OCI distribution-spec §Listing Referrers: always 200 with an image index, possibly empty.

    ``artifactType`` filtering is applied here (storage does it) and announced with
    ``OCI-Filters-Applied`` so clients do not filter again.
    """
    subject = Digest.parse(context.match(request).reference)
    artifact_type = request.query.get("artifactType") or None
    found = await context.repository(request).referrers.list(subject, artifact_type)
    response = web.Response(body=referrers_index(found), headers={"Content-Type": OCI_INDEX})
    if artifact_type is not None:
        response.headers["OCI-Filters-Applied"] = "artifactType"
    return response
