"""Rendering of the OCI image index that answers the referrers API."""

from __future__ import annotations

import json
from collections.abc import Iterable

from cargohold.manifest.descriptor import Descriptor
from cargohold.manifest.mediatypes import OCI_INDEX


def referrers_index(descriptors: Iterable[Descriptor]) -> bytes:
    """Render ``descriptors`` as a compact OCI image index, in the order given.

    OCI distribution-spec §Listing Referrers: the response is an image index whose ``manifests``
    are the referrers' descriptors (an empty list when there are none). The output is pure ASCII.
    """
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [d.to_json() for d in descriptors],
    }
    return json.dumps(doc, separators=(",", ":")).encode("ascii")
