"""Hostile repository names on every endpoint that takes one: 400 NAME_INVALID, nothing stored.

The name is validated before anything else happens, so the same answer is due wherever it
appears (OCI distribution-spec §Pulling manifests: ``<name>`` grammar, 255 characters at most).
"""

from __future__ import annotations

import pytest

from tests.hardening.rawhttp import LAYER, MANIFEST, OCI_MANIFEST, Case, Live, request, run_case

# (id, the name as it appears in the raw request target)
BAD_NAMES: list[tuple[str, str]] = [
    ("uppercase", "Seed/Repo"),
    ("uppercase-component", "seed/Repo"),
    ("encoded-dotdot", "%2e%2e/seed"),
    ("encoded-dotdot-inner", "seed/%2E%2E/repo"),
    ("dot-component", "seed/./repo"),
    ("empty-component", "seed//repo"),
    ("leading-separator", "/seed/repo"),
    ("trailing-separator", "seed/repo/"),
    ("encoded-slash", "seed%2frepo"),
    ("too-long", "a" * 256),
    ("too-long-components", "/".join(["abcdefghij"] * 24) + "/abcdefghijklmn"),
    ("unicode", "caf%C3%A9"),
    ("nul", "seed%00repo"),
    ("crlf", "seed%0d%0arepo"),
    ("space", "seed%20repo"),
    ("leading-dash", "-seed"),
    ("trailing-dash", "seed-"),
    ("leading-dot", ".seed"),
    ("triple-underscore", "seed___repo"),
    ("dot-dash", "seed.-repo"),
    ("colon", "seed:repo"),
    ("plus", "seed+repo"),
    ("tilde", "~seed"),
    ("percent-garbage", "seed%zzrepo"),
]

# (id, method, target with {name}, extra headers, body)
ENDPOINTS: list[tuple[str, str, str, dict[str, str], bytes]] = [
    ("tags", "GET", "/v2/{name}/tags/list", {}, b""),
    ("manifest-head", "HEAD", "/v2/{name}/manifests/latest", {}, b""),
    ("manifest-get", "GET", "/v2/{name}/manifests/{manifest}", {}, b""),
    (
        "manifest-put",
        "PUT",
        "/v2/{name}/manifests/latest",
        {"Content-Type": OCI_MANIFEST},
        MANIFEST,
    ),
    ("manifest-delete", "DELETE", "/v2/{name}/manifests/{manifest}", {}, b""),
    ("blob-get", "GET", "/v2/{name}/blobs/{blob}", {}, b""),
    ("blob-delete", "DELETE", "/v2/{name}/blobs/{blob}", {}, b""),
    ("upload-start", "POST", "/v2/{name}/blobs/uploads/", {}, b""),
    ("upload-monolithic", "POST", "/v2/{name}/blobs/uploads/?digest={blob}", {}, LAYER),
    ("upload-mount", "POST", "/v2/{name}/blobs/uploads/?mount={blob}&from=seed/repo", {}, b""),
    ("upload-status", "GET", "/v2/{name}/blobs/uploads/{upload}", {}, b""),
    ("upload-patch", "PATCH", "/v2/{name}/blobs/uploads/{upload}", {}, b"more"),
    ("upload-put", "PUT", "/v2/{name}/blobs/uploads/{upload}?digest={uploaded}", {}, b""),
    ("upload-cancel", "DELETE", "/v2/{name}/blobs/uploads/{upload}", {}, b""),
    ("referrers", "GET", "/v2/{name}/referrers/{manifest}", {}, b""),
]


def _cases() -> list[Case]:
    cases = [
        Case(
            f"{endpoint}-{name_id}",
            request(method, target.replace("{name}", name), headers, body),
            400,
            "NAME_INVALID",
            "name",
        )
        for name_id, name in BAD_NAMES
        for endpoint, method, target, headers, body in ENDPOINTS
    ]
    # The mount source is a name too.
    cases += [
        Case(
            f"mount-from-{name_id}",
            request("POST", f"/v2/seed/repo/blobs/uploads/?mount={{blob}}&from={name}"),
            400,
            "NAME_INVALID",
            "name",
        )
        for name_id, name in BAD_NAMES
        if "%2f" not in name.lower() and not name.startswith("/")
    ]
    return cases


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.id)
async def test_hostile_name(seeded: Live, case: Case) -> None:
    await run_case(seeded, case)


async def test_name_of_255_characters_is_accepted(seeded: Live) -> None:
    name = "/".join(["a" * 50] * 4) + "/" + "b" * 51
    assert len(name) == 255
    resp = await run_case(
        seeded,
        Case("max-name", request("GET", f"/v2/{name}/tags/list"), 404, "NAME_UNKNOWN"),
    )
    assert resp is not None


async def test_dot_segments_never_escape_the_api(seeded: Live) -> None:
    """``..`` in a raw target is either refused or resolved inside /v2/, never above it."""
    for target in (
        "/v2/seed/../../etc/passwd",
        "/v2/../v2/seed/repo/tags/list",
        "/v2/%2e%2e/%2e%2e/x",
    ):
        resp = await run_case(seeded, Case(target, request("GET", target), None))
        assert resp is not None
        assert resp.status in (200, 400, 404), resp
