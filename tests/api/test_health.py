"""Health checks: thresholds, the storage check gating the API with 503, Redis reported only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from cargohold.api import context
from cargohold.api.health import HEALTH, UNHEALTHY_DETAIL, Health, PeriodicCheck
from cargohold.errors import StorageError
from cargohold.storage.driver.base import FileInfo
from cargohold.storage.driver.instrumented import InstrumentedDriver
from cargohold.testing.redis_server import RedisServer
from tests.api.conftest import MakeClient
from tests.api.helpers import Client, assert_error, push_image

FAST = {"storagedriver": {"enabled": True, "interval": "20ms", "threshold": 2}}


async def eventually(check: Callable[[], bool]) -> None:
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    assert check()


def health_of(client: Client) -> Health:
    return client.app[HEALTH]


async def _never(*args: object) -> None:
    raise AssertionError("not called")


def test_threshold_counts_consecutive_failures() -> None:
    check = PeriodicCheck("x", _never, interval=1, threshold=3)
    check.update("one")
    check.update("two")
    assert check.error is None  # below the threshold: still healthy
    check.update("three")
    assert check.error == "three"
    check.update("four")
    assert check.error == "four"  # the latest error is reported
    check.update(None)
    assert check.error is None  # one success clears it
    check.update("again")
    assert check.error is None


async def test_probe_errors_and_timeouts_are_failures() -> None:
    async def slow() -> None:
        await asyncio.sleep(10)

    async def broken() -> None:
        raise OSError("no route")

    timed = PeriodicCheck("slow", slow, interval=1, timeout=0.01)
    await timed.check_once()
    assert timed.error == "timed out after 0.01s"
    failing = PeriodicCheck("broken", broken, interval=1)
    await failing.check_once()
    assert failing.error == "no route"
    health = Health([timed, failing])
    assert health.status() == {"slow": "timed out after 0.01s", "broken": "no route"}
    assert health.unavailable()


async def test_checks_are_off_unless_configured(client: Client) -> None:
    assert health_of(client).checks == []
    assert (await client.get("/")).status == 200


async def test_fresh_root_is_healthy(make_client: MakeClient, tmp_path: Path) -> None:
    client = await make_client(
        {"filesystem": {"rootdirectory": str(tmp_path / "new")}}, health=FAST
    )
    [check] = health_of(client).checks
    assert check.name == "storagedriver_filesystem"
    assert (check.interval, check.threshold, check.gates) == (0.02, 2, True)
    await asyncio.sleep(0.1)  # several probes of a root that does not exist yet
    assert health_of(client).status() == {}
    assert (await client.get("/v2/")).status == 200


async def test_failing_storage_turns_every_response_into_503_until_it_recovers(
    make_client: MakeClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await make_client({"filesystem": {"rootdirectory": str(tmp_path)}}, health=FAST)
    await push_image(client, "foo", "v1")
    driver = client.app[context.DRIVER]
    assert isinstance(driver, InstrumentedDriver)
    healthy_stat = driver.inner.stat

    async def failing_stat(path: str) -> FileInfo:
        raise StorageError(f"filesystem error on {path}: Input/output error")

    monkeypatch.setattr(driver.inner, "stat", failing_stat)
    await eventually(lambda: health_of(client).unavailable())
    assert health_of(client).status() == {
        "storagedriver_filesystem": "filesystem error on /docker/registry/v2: Input/output error"
    }
    entry = await assert_error(await client.get("/v2/"), 503, "UNAVAILABLE")
    assert entry["message"] == "service unavailable"
    assert entry["detail"] == UNHEALTHY_DETAIL
    await assert_error(await client.get("/v2/foo/manifests/v1"), 503, "UNAVAILABLE")
    assert (await client.put("/v2/foo/manifests/v2", data=b"{}")).status == 503
    assert (await client.get("/")).status == 503  # load balancers take the node out

    monkeypatch.setattr(driver.inner, "stat", healthy_stat)
    await eventually(lambda: not health_of(client).unavailable())
    assert (await client.get("/")).status == 200
    assert (await client.get("/v2/foo/manifests/v1")).status == 200


async def test_threshold_delays_the_gate(
    make_client: MakeClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    three = {"storagedriver": {"enabled": True, "interval": "10ms", "threshold": 3}}
    client = await make_client({"filesystem": {"rootdirectory": str(tmp_path)}}, health=three)
    driver = client.app[context.DRIVER]
    assert isinstance(driver, InstrumentedDriver)
    failed: list[int] = []
    seen_unavailable_after: list[int] = []

    async def failing_stat(path: str) -> FileInfo:
        failed.append(len(failed))
        raise StorageError("gone")

    monkeypatch.setattr(driver.inner, "stat", failing_stat)
    while not seen_unavailable_after:
        if health_of(client).unavailable():
            seen_unavailable_after.append(len(failed))
        await asyncio.sleep(0.001)
    assert seen_unavailable_after[0] >= 3
    assert (await client.get("/v2/")).status == 503


async def test_redis_is_reported_but_never_gates(make_client: MakeClient) -> None:
    async with RedisServer() as redis:
        client = await make_client(
            storage={"cache": {"blobdescriptor": "redis"}},
            redis={"addr": redis.addr, "dialtimeout": "200ms", "readtimeout": "200ms"},
            health={"storagedriver": {"interval": "20ms"}},
        )
        [check] = health_of(client).checks  # storagedriver is off: only Redis is checked
        assert (check.name, check.gates) == ("redis", False)
        await eventually(lambda: check.failures == 0 and check.last_error is None)
        await asyncio.to_thread(redis.kill)
        await eventually(lambda: "redis" in health_of(client).status())
        assert not health_of(client).unavailable()
        _, digest = await push_image(client, "foo", "v1")  # storage answers without the cache
        resp = await client.get(f"/v2/foo/manifests/{digest}")
        assert resp.status == 200
        await asyncio.to_thread(redis.restart)
        await eventually(lambda: health_of(client).status() == {})
