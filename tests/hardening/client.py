"""A minimal registry client for the stress and crash tests: every call reports whether the
registry acknowledged it, and a 5xx is always a test failure."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def manifest_for(config: bytes, layers: list[bytes]) -> bytes:
    """An OCI image manifest naming ``config`` and ``layers``."""

    def desc(media_type: str, data: bytes) -> dict[str, Any]:
        return {"mediaType": media_type, "digest": sha256(data), "size": len(data)}

    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": desc(OCI_CONFIG, config),
            "layers": [desc(OCI_LAYER, layer) for layer in layers],
        },
        sort_keys=True,
    ).encode()


class ServerError(AssertionError):
    """The registry answered 5xx."""


@dataclass
class Client:
    """Registry calls over one session; methods return True when acknowledged, False when
    refused with a 4xx, and raise aiohttp.ClientError when the connection failed."""

    http: aiohttp.ClientSession

    async def _check(self, resp: aiohttp.ClientResponse) -> None:
        if resp.status >= 500:
            raise ServerError(f"{resp.method} {resp.url} -> {resp.status}: {await resp.text()}")

    async def push_blob(self, repo: str, data: bytes, *, chunks: int = 1) -> bool:
        """Monolithic POST (``chunks`` 1) or POST + PATCHes + PUT."""
        digest = sha256(data)
        if chunks <= 1:
            async with self.http.post(
                f"/v2/{repo}/blobs/uploads/?digest={digest}", data=io.BytesIO(data)
            ) as resp:
                await self._check(resp)
                return resp.status == 201
        async with self.http.post(f"/v2/{repo}/blobs/uploads/") as resp:
            await self._check(resp)
            if resp.status != 202:
                return False
            location = resp.headers["Location"]
        step = -(-len(data) // chunks)
        for offset in range(0, len(data), step):
            piece = data[offset : offset + step]
            headers = {"Content-Range": f"{offset}-{offset + len(piece) - 1}"}
            async with self.http.patch(location, data=piece, headers=headers) as resp:
                await self._check(resp)
                if resp.status != 202:
                    return False
                location = resp.headers["Location"]
        async with self.http.put(f"{location}?digest={digest}") as resp:
            await self._check(resp)
            return resp.status == 201

    async def mount(self, repo: str, digest: str, source: str) -> bool:
        async with self.http.post(
            f"/v2/{repo}/blobs/uploads/?mount={digest}&from={source}"
        ) as resp:
            await self._check(resp)
            if resp.status == 202:  # not mountable: a session was opened instead; drop it
                async with self.http.delete(resp.headers["Location"]) as cancel:
                    await self._check(cancel)
            return resp.status == 201

    async def delete_blob(self, repo: str, digest: str) -> bool:
        async with self.http.delete(f"/v2/{repo}/blobs/{digest}") as resp:
            await self._check(resp)
            return resp.status == 202

    async def put_manifest(self, repo: str, reference: str, body: bytes) -> bool:
        async with self.http.put(
            f"/v2/{repo}/manifests/{reference}", data=body, headers={"Content-Type": OCI_MANIFEST}
        ) as resp:
            await self._check(resp)
            return resp.status == 201

    async def delete_manifest(self, repo: str, reference: str) -> bool:
        async with self.http.delete(f"/v2/{repo}/manifests/{reference}") as resp:
            await self._check(resp)
            return resp.status == 202

    async def get_blob(self, repo: str, digest: str) -> bytes | None:
        """The blob's bytes (verified against ``digest``), or None when absent."""
        async with self.http.get(f"/v2/{repo}/blobs/{digest}") as resp:
            await self._check(resp)
            if resp.status == 404:
                return None
            assert resp.status == 200, resp.status
            data = await resp.read()
        assert sha256(data) == digest, f"blob {digest} served other content"
        return data

    async def get_manifest(self, repo: str, reference: str) -> tuple[str, bytes] | None:
        """The manifest's digest and bytes (verified), or None when absent."""
        async with self.http.get(
            f"/v2/{repo}/manifests/{reference}", headers={"Accept": OCI_MANIFEST}
        ) as resp:
            await self._check(resp)
            if resp.status == 404:
                return None
            assert resp.status == 200, resp.status
            data = await resp.read()
            digest = resp.headers["Docker-Content-Digest"]
        assert sha256(data) == digest, f"manifest {reference} served content of another digest"
        return digest, data

    async def tags(self, repo: str) -> list[str]:
        async with self.http.get(f"/v2/{repo}/tags/list") as resp:
            await self._check(resp)
            if resp.status == 404:
                return []
            assert resp.status == 200, resp.status
            body = await resp.json()
        tags: list[str] = body["tags"]
        return tags

    async def upload_offset(self, location: str) -> int | None:
        """The offset an upload session reports (None when unknown to the registry)."""
        async with self.http.get(location) as resp:
            await self._check(resp)
            if resp.status == 404:
                return None
            assert resp.status == 204, resp.status
            return (
                int(resp.headers["Range"].split("-")[1]) + 1
                if resp.headers["Range"] != "0-0"
                else 0
            )
