"""Thin wrappers around the real clients the integration tests drive: skopeo and plain HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any, Final

SKOPEO_TIMEOUT: Final = 60.0
HTTP_TIMEOUT: Final = 15.0
_OPENER: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))

MANIFEST_ACCEPT: Final = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


def skopeo(*args: str, timeout: float = SKOPEO_TIMEOUT) -> str:
    """Run ``skopeo --insecure-policy ARGS``; return stdout, fail the test with stderr otherwise."""
    binary = shutil.which("skopeo")
    if binary is None:
        raise AssertionError("skopeo is not on PATH: install the Debian package 'skopeo'")
    command = [binary, "--insecure-policy", *args]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}{result.stdout}"
        )
    return result.stdout


def skopeo_json(*args: str) -> Any:
    return json.loads(skopeo(*args))


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
) -> Response:
    """One HTTP request with a timeout; any status (including 4xx/5xx) is returned, not raised."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=HTTP_TIMEOUT) as response:
            return Response(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Response(exc.code, exc.headers, exc.read())


def get_manifest(base_url: str, repo: str, reference: str, *, method: str = "GET") -> Response:
    """Fetch a manifest accepting every image format (Distribution 404s OCI ones otherwise)."""
    return http(
        method, f"{base_url}/v2/{repo}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT}
    )
