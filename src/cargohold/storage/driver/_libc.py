"""Linux libc calls that Python's ``os`` lacks, looked up once; None where they do not exist."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any


def linux_call(name: str, *argtypes: Any) -> Callable[..., int] | None:
    """libc's ``name`` taking ``argtypes`` and returning a C int, or None off Linux or if absent."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    fn.argtypes = list(argtypes)
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]
