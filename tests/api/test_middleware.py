"""cargohold.api.middleware: request ids (the middleware chain itself is exercised by every API test)."""

from __future__ import annotations

import os
import re

from cargohold.api.middleware import new_request_id

HEX32 = re.compile(r"[0-9a-f]{32}")


def test_request_ids_look_like_uuid4_hex_and_never_repeat() -> None:
    ids = [new_request_id() for _ in range(10_000)]
    assert all(HEX32.fullmatch(rid) for rid in ids)
    assert len(set(ids)) == len(ids)
    # One random prefix per process, then a counter: consecutive ids differ only at the end.
    assert len({rid[:16] for rid in ids}) == 1
    assert [int(rid[16:], 16) for rid in ids[:3]] == [int(ids[0][16:], 16) + i for i in range(3)]


def test_a_forked_worker_draws_its_own_prefix() -> None:
    parent = new_request_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only reports and exits
        try:
            os.write(write, new_request_id().encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child = pipe.read().decode()
    os.waitpid(pid, 0)
    assert HEX32.fullmatch(child)
    assert child[:16] != parent[:16]
