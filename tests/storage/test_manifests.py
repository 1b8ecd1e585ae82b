"""Manifest service: byte-exact storage, validation against storage, tags and referrers."""

from __future__ import annotations

import json

import pytest

from cargohold.errors import (
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    PathNotFound,
    TagInvalid,
    Unsupported,
)
from cargohold.reference import Digest
from cargohold.storage import paths
from cargohold.storage.links import write_link
from cargohold.storage.registry import StorageRegistry, create_registry
from tests.storage.conftest import (
    OCI_INDEX,
    OCI_MANIFEST,
    image_manifest,
    index_manifest,
    push_blob,
    push_image,
)


async def test_put_get_byte_exact(registry: StorageRegistry) -> None:
    digest, content = await push_image(registry, "r", b"1", ["latest", "v1"])
    stored = await registry.repository("r").manifests.get(digest)
    assert stored.content == content
    assert stored.descriptor.media_type == OCI_MANIFEST
    assert stored.descriptor.size == len(content)
    assert (await registry.repository("r").manifests.stat(digest)).media_type == OCI_MANIFEST
    assert await registry.repository("r").tags.resolve("latest") == digest
    assert await registry.repository("r").tags.list() == ["latest", "v1"]
    # Distribution's layout.
    link = await registry.driver.get_content(paths.tag_current_link("r", "latest"))
    assert link == str(digest).encode()
    assert await registry.driver.get_content(paths.blob_data(digest)) == content


async def test_missing_blob_is_manifest_blob_unknown(registry: StorageRegistry) -> None:
    await push_blob(registry, "r", b"{}")
    content = image_manifest(b"{}", [b"never pushed"])
    with pytest.raises(ManifestBlobUnknown) as exc:
        await registry.repository("r").manifests.put(content, OCI_MANIFEST, None, ["t"])
    assert str(Digest.from_bytes(b"never pushed")) in exc.value.message
    with pytest.raises(ManifestUnknown):
        await registry.repository("r").tags.resolve("t")


async def test_blob_in_other_repository_does_not_count(registry: StorageRegistry) -> None:
    await push_blob(registry, "other", b"{}")
    await push_blob(registry, "other", b"l")
    with pytest.raises(ManifestBlobUnknown):
        await registry.repository("r").manifests.put(
            image_manifest(b"{}", [b"l"]), OCI_MANIFEST, None, []
        )


async def test_digest_mismatch(registry: StorageRegistry) -> None:
    await push_blob(registry, "r", b"{}")
    with pytest.raises(DigestInvalid):
        await registry.repository("r").manifests.put(
            image_manifest(b"{}", []), OCI_MANIFEST, Digest.from_bytes(b"x"), []
        )


async def test_invalid_manifest_and_tag(registry: StorageRegistry) -> None:
    manifests = registry.repository("r").manifests
    with pytest.raises(ManifestInvalid):
        await manifests.put(b"not json", OCI_MANIFEST, None, [])
    await push_blob(registry, "r", b"{}")
    with pytest.raises(TagInvalid):
        await manifests.put(image_manifest(b"{}", []), OCI_MANIFEST, None, [".bad"])


async def test_index_requires_children(registry: StorageRegistry) -> None:
    child, child_content = await push_image(registry, "r", b"c")
    index = index_manifest([child_content])
    desc, _ = await registry.repository("r").manifests.put(index, OCI_INDEX, None, ["multi"])
    assert (await registry.repository("r").manifests.get(desc.digest)).content == index
    with pytest.raises(ManifestBlobUnknown):
        await registry.repository("r").manifests.put(
            index_manifest([b"unknown child"]), OCI_INDEX, None, []
        )
    assert child in [Digest.parse(m["digest"]) for m in json.loads(index)["manifests"]]


async def test_delete_removes_manifest_and_its_tags_only(registry: StorageRegistry) -> None:
    a, _ = await push_image(registry, "r", b"a", ["a1", "a2"])
    b, _ = await push_image(registry, "r", b"b", ["b1"])
    await registry.repository("r").manifests.delete(a)
    with pytest.raises(ManifestUnknown):
        await registry.repository("r").manifests.get(a)
    assert await registry.repository("r").tags.list() == ["b1"]
    assert await registry.repository("r").tags.resolve("b1") == b
    with pytest.raises(ManifestUnknown):
        await registry.repository("r").manifests.delete(a)


async def test_delete_disabled(registry: StorageRegistry) -> None:
    a, _ = await push_image(registry, "r", b"a", ["t"])
    ro = create_registry(registry.driver, delete_enabled=False, cache=None)
    with pytest.raises(Unsupported):
        await ro.repository("r").manifests.delete(a)
    with pytest.raises(Unsupported):
        await ro.repository("r").tags.delete("t")


async def test_tag_delete_keeps_manifest(registry: StorageRegistry) -> None:
    a, _ = await push_image(registry, "r", b"a", ["t", "u"])
    await registry.repository("r").tags.delete("t")
    assert await registry.repository("r").tags.list() == ["u"]
    assert (await registry.repository("r").manifests.get(a)).descriptor.digest == a
    with pytest.raises(ManifestUnknown):
        await registry.repository("r").tags.delete("t")


async def test_referrers_added_filtered_and_removed(registry: StorageRegistry) -> None:
    subject, subject_content = await push_image(registry, "r", b"s")
    sig, _ = await push_image(
        registry, "r", b"sig", subject=subject_content, artifact_type="application/x-sig"
    )
    sbom, _ = await push_image(
        registry, "r", b"sbom", subject=subject_content, artifact_type="application/x-sbom"
    )
    referrers = registry.repository("r").referrers
    listed = await referrers.list(subject)
    assert sorted(str(d.digest) for d in listed) == sorted([str(sig), str(sbom)])
    assert {d.artifact_type for d in listed} == {"application/x-sig", "application/x-sbom"}
    only = await referrers.list(subject, "application/x-sig")
    assert [d.digest for d in only] == [sig]
    await registry.repository("r").manifests.delete(sig)
    assert [d.digest for d in await referrers.list(subject)] == [sbom]
    assert await referrers.list(Digest.from_bytes(b"nothing")) == []


async def test_referrers_index_is_rebuilt_for_foreign_roots(registry: StorageRegistry) -> None:
    subject, subject_content = await push_image(registry, "r", b"s")
    sig, _ = await push_image(registry, "r", b"sig", subject=subject_content)
    # Drop cargohold's extension, as if Distribution had written the repository.
    await registry.driver.delete(paths.extension("r"))
    assert [d.digest for d in await registry.repository("r").referrers.list(subject)] == [sig]
    await registry.driver.stat(paths.referrers_marker("r"))


async def test_dangling_tag_is_not_listed_or_resolved(registry: StorageRegistry) -> None:
    a, _ = await push_image(registry, "r", b"a", ["good"])
    ghost = Digest.from_bytes(b"ghost")
    await registry.driver.put_content(paths.tag_current_link("r", "ghost"), str(ghost).encode())
    await registry.driver.put_content(paths.tag_current_link("r", "torn"), b"sha256:12")
    assert await registry.repository("r").tags.list() == ["good"]
    with pytest.raises(ManifestUnknown):
        await registry.repository("r").tags.resolve("ghost")
    assert await registry.repository("r").tags.resolve("good") == a
    manifests = registry.repository("r").manifests
    assert await manifests.get_tagged("good") == await manifests.get(a)
    for tag in ("ghost", "torn", "absent"):
        with pytest.raises(ManifestUnknown) as raised:
            await manifests.get_tagged(tag)
        assert raised.value.detail == {"tag": tag}


async def test_a_tag_needs_the_revision_not_only_a_layer_link(registry: StorageRegistry) -> None:
    a, content = await push_image(registry, "r", b"a", ["t"])
    # Distribution 2.1.0 also linked manifests under _layers: that proves a digest, not a tag.
    await write_link(registry.driver, paths.layer_link("r", a), a)
    await registry.driver.delete(paths.revision_link("r", a).rsplit("/", 1)[0])
    assert (await registry.repository("r").manifests.get(a)).content == content
    with pytest.raises(ManifestUnknown):
        await registry.repository("r").manifests.get_tagged("t")


async def test_read_only_referrers_query_writes_nothing(registry: StorageRegistry) -> None:
    subject, subject_content = await push_image(registry, "r", b"s")
    sig, _ = await push_image(registry, "r", b"sig", subject=subject_content)
    await registry.driver.delete(paths.extension("r"))
    ro = create_registry(registry.driver, delete_enabled=True, cache=None, read_only=True)
    assert [d.digest for d in await ro.repository("r").referrers.list(subject)] == [sig]
    with pytest.raises(PathNotFound):
        await registry.driver.stat(paths.extension("r"))
