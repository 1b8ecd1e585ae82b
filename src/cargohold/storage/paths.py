"""The storage layout, identical to CNCF Distribution's so either can serve the other's root.

::

    /docker/registry/v2/
    ├── blobs/<alg>/<hex[:2]>/<hex>/data                       global content-addressed blobs
    └── repositories/<name>/
        ├── _layers/<alg>/<hex>/link                          blob linked into the repository
        ├── _manifests/
        │   ├── revisions/<alg>/<hex>/link                    manifest present in the repository
        │   └── tags/<tag>/
        │       ├── current/link                              digest the tag points at
        │       └── index/<alg>/<hex>/link                    every digest the tag pointed at
        ├── _uploads/<id>/
        │   ├── data                                          bytes received so far
        │   └── startedat                                     RFC 3339 start time
        └── _cargohold/                                        cargohold's extension (Distribution
            └── referrers/<alg>/<hex>/<alg>/<hex>/link         skips ``_`` dirs); subject -> referrer

A link file holds the digest string it names. The extension is derived data: it can always be
rebuilt from the manifests themselves.
"""

from __future__ import annotations

from cargohold.reference import Digest

ROOT = "/docker/registry/v2"
REPOSITORIES = f"{ROOT}/repositories"
BLOBS = f"{ROOT}/blobs"


def blob_dir(d: Digest) -> str:
    return f"{BLOBS}/{d.algorithm}/{d.hex[:2]}/{d.hex}"


def blob_data(d: Digest) -> str:
    return f"{blob_dir(d)}/data"


def repository(name: str) -> str:
    return f"{REPOSITORIES}/{name}"


def layer_link(name: str, d: Digest) -> str:
    return f"{repository(name)}/_layers/{d.algorithm}/{d.hex}/link"


def layers(name: str) -> str:
    return f"{repository(name)}/_layers"


def manifests(name: str) -> str:
    return f"{repository(name)}/_manifests"


def revisions(name: str) -> str:
    return f"{manifests(name)}/revisions"


def revision_link(name: str, d: Digest) -> str:
    return f"{revisions(name)}/{d.algorithm}/{d.hex}/link"


def tags(name: str) -> str:
    return f"{manifests(name)}/tags"


def tag_dir(name: str, tag: str) -> str:
    return f"{tags(name)}/{tag}"


def tag_current_link(name: str, tag: str) -> str:
    return f"{tag_dir(name, tag)}/current/link"


def tag_index_link(name: str, tag: str, d: Digest) -> str:
    return f"{tag_dir(name, tag)}/index/{d.algorithm}/{d.hex}/link"


def uploads(name: str) -> str:
    return f"{repository(name)}/_uploads"


def upload_dir(name: str, upload_id: str) -> str:
    return f"{uploads(name)}/{upload_id}"


def upload_data(name: str, upload_id: str) -> str:
    return f"{upload_dir(name, upload_id)}/data"


def upload_started_at(name: str, upload_id: str) -> str:
    return f"{upload_dir(name, upload_id)}/startedat"


def extension(name: str) -> str:
    return f"{repository(name)}/_cargohold"


def referrers(name: str, subject: Digest) -> str:
    return f"{extension(name)}/referrers/{subject.algorithm}/{subject.hex}"


def referrer_link(name: str, subject: Digest, referrer: Digest) -> str:
    return f"{referrers(name, subject)}/{referrer.algorithm}/{referrer.hex}/link"


def referrers_root(name: str) -> str:
    return f"{extension(name)}/referrers"


def referrers_marker(name: str) -> str:
    """Present once the repository's referrers index was built or rebuilt from its manifests."""
    return f"{extension(name)}/referrers-indexed"
