"""Sync and async context management for the test servers (registries, Redis, SeaweedFS)."""

from __future__ import annotations

import asyncio
import subprocess
from types import TracebackType
from typing import Self


class ServerLifecycle:
    """``with`` / ``async with`` over a blocking ``start`` and ``close``; a failed start is closed.

    The async forms run both in a thread, so a test's event loop keeps serving while a server
    boots or stops.
    """

    _process: subprocess.Popen[bytes] | None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.__enter__)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.close)
