"""libc calls looked up by name: found and callable on Linux, None when absent."""

from __future__ import annotations

import os
import sys

from cargohold.storage.driver._libc import linux_call


def test_a_present_call_is_callable_and_an_absent_one_is_none() -> None:
    getpid = linux_call("getpid")
    if sys.platform.startswith("linux"):
        assert getpid is not None
        assert getpid() == os.getpid()
    else:
        assert getpid is None
    assert linux_call("cargohold_no_such_call") is None
