"""A tiny aiohttp app standing in for the registry API while testing how cargohold serves apps.

``python -m tests.cli.tiny_app ARGS...`` runs the real ``cargohold`` command line with this module
installed as ``cargohold.api.app``, so ``serve`` exercises config loading, logging, the event
loop, signals, draining and workers end to end. ``GET /`` answers "ok", ``GET /loop`` names the
event loop's module, ``GET /pid`` the serving process, ``GET /slow`` waits until the test sets
:data:`RELEASE`, and ``GET /sleep?seconds=S&marker=PATH`` creates PATH, then answers after S
seconds (for tests driving a subprocess). With ``TINY_APP_FAIL`` set the factory raises.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from aiohttp import web

from cargohold.config import Config

RELEASE = web.AppKey("release", asyncio.Event)
STARTED = web.AppKey("started", asyncio.Event)
SHUTTING_DOWN = web.AppKey("shutting_down", asyncio.Event)


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _loop(request: web.Request) -> web.Response:
    return web.Response(text=type(asyncio.get_running_loop()).__module__)


async def _pid(request: web.Request) -> web.Response:
    return web.Response(text=str(os.getpid()))


async def _sleep(request: web.Request) -> web.Response:
    await asyncio.to_thread(Path(request.query["marker"]).touch)
    await asyncio.sleep(float(request.query["seconds"]))
    return web.Response(text="slept")


async def _slow(request: web.Request) -> web.Response:
    request.app[STARTED].set()
    await request.app[RELEASE].wait()
    return web.Response(text="slow ok")


async def _on_shutdown(app: web.Application) -> None:
    app[SHUTTING_DOWN].set()


def create_app(config: Config) -> web.Application:
    """The app factory, with create_app's signature; ``config`` is unused."""
    if os.environ.get("TINY_APP_FAIL"):
        raise RuntimeError("tiny app told to fail")
    app = web.Application()
    app[RELEASE] = asyncio.Event()
    app[STARTED] = asyncio.Event()
    app[SHUTTING_DOWN] = asyncio.Event()
    app.router.add_get("/", _ok)
    app.router.add_get("/loop", _loop)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/pid", _pid)
    app.router.add_get("/sleep", _sleep)
    app.on_shutdown.append(_on_shutdown)
    return app


if __name__ == "__main__":
    from cargohold.cli.main import main

    sys.modules["cargohold.api.app"] = sys.modules[__name__]
    main()
