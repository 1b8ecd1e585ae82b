"""``/v2/<name>/manifests/<reference>``: pull (GET/HEAD), push (PUT) and delete, by tag or digest."""

from __future__ import annotations

from aiohttp import web

from cargohold.api import context, urls
from cargohold.api.bodies import request_chunks
from cargohold.api.conditional import etag, none_match
from cargohold.errors import ManifestInvalid, ManifestTooLarge, ManifestUnknown
from cargohold.manifest import acceptable
from cargohold.reference import Digest, is_digest, validate_tag
from cargohold.storage.base import Repository, StoredManifest

_READ_CHUNK = 64 * 1024


async def _lookup(repo: Repository, reference: str) -> StoredManifest:
    """The manifest by digest (DigestInvalid) or by tag (TagInvalid); ManifestUnknown."""
    if is_digest(reference):
        return await repo.manifests.get(Digest.parse(reference))
    return await repo.manifests.get_tagged(validate_tag(reference))


async def get(request: web.Request) -> web.StreamResponse:
    """Serve the manifest byte-exact with its stored media type, if the client accepts it."""
    repo = context.repository(request)
    # HEAD reads the content too: the media type is in it, and it is one small read.
    stored = await _lookup(repo, context.match(request).reference)
    desc, digest = stored.descriptor, stored.descriptor.digest
    content = stored.content if request.method != "HEAD" else None
    if not acceptable(desc.media_type, request.headers.getall("Accept", [])):
        # As Distribution: an OCI manifest is "unknown" to a client that cannot accept it.
        raise ManifestUnknown(
            f"manifest of type {desc.media_type} is not acceptable per the Accept header",
            {"mediaType": desc.media_type},
        )
    headers = {
        "Docker-Content-Digest": str(digest),
        "ETag": etag(digest),
        "Content-Type": desc.media_type,
    }
    if none_match(request, digest):
        return web.Response(status=304, headers=headers)
    if content is None:
        headers["Content-Length"] = str(desc.size)  # HEAD: what GET would send
    return web.Response(status=200, body=content, headers=headers)


async def _read_bounded(request: web.Request, limit: int) -> bytes:
    """Read the body, refusing (413) past ``limit`` bytes without ever holding more than that."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise ManifestTooLarge(
            f"manifest of {declared} bytes exceeds the {limit} byte limit",
            {"size": declared, "limit": limit},
        )
    buf = bytearray()
    async for chunk in request_chunks(request, _READ_CHUNK, ManifestInvalid):
        buf += chunk
        if len(buf) > limit:
            raise ManifestTooLarge(f"manifest exceeds the {limit} byte limit", {"limit": limit})
    return bytes(buf)


async def put(request: web.Request) -> web.StreamResponse:
    """Validate and store a manifest, tag it, and answer 201 with its canonical Location.

    ``?tag=`` (repeatable, OCI distribution-spec main) adds tags in the same request; each
    applied tag is echoed in an ``OCI-Tag`` header so a client can tell it was honoured.
    ``OCI-Subject`` tells the client the referrers API indexed the manifest's subject.
    """
    repo = context.repository(request)
    match = context.match(request)
    reference = match.reference
    digest: Digest | None = None
    tags: list[str] = []
    if is_digest(reference):
        digest = Digest.parse(reference)
    else:
        tags.append(validate_tag(reference))
    extra = request.query.getall("tag", [])
    for tag in extra:
        if validate_tag(tag) not in tags:
            tags.append(tag)
    content = await _read_bounded(request, context.settings(request).max_manifest_size)
    desc, subject = await repo.manifests.put(
        content, request.headers.get("Content-Type"), digest, tags
    )
    response = web.Response(
        status=201,
        headers={
            "Location": urls.manifest_url(request, match.name, desc.digest),
            "Docker-Content-Digest": str(desc.digest),
        },
    )
    if subject is not None:
        response.headers["OCI-Subject"] = str(subject)
    if extra:
        for tag in tags:
            response.headers.add("OCI-Tag", tag)
    return response


async def delete(request: web.Request) -> web.StreamResponse:
    """By digest: delete the manifest and its tags. By tag: remove only the tag. 202 either way."""
    repo = context.repository(request)
    reference = context.match(request).reference
    if is_digest(reference):
        await repo.manifests.delete(Digest.parse(reference))
    else:
        await repo.tags.delete(validate_tag(reference))
    return web.Response(status=202)
