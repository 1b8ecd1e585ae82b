"""Running an aiohttp application as the registry server: listen, announce, drain on SIGTERM.

Kept apart from :mod:`cargohold.cli.main` so it can be driven with any application, which is how
its tests exercise start-up and graceful shutdown without the registry API. With ``http.workers``
above one, :mod:`cargohold.cli.workers` forks that many processes over shared listeners, each of
which runs :func:`run_server`. The debug server (``http.debug.addr``) runs beside the API in the
same loop and stops last, so health and metrics stay visible while requests drain.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from cargohold.cli.malloc import tune_malloc
from cargohold.config import Config, DebugConfig, HTTPConfig, TLSConfig, split_host_port

__all__ = [
    "AppFactory",
    "build_ssl_context",
    "debug_message",
    "event_loop_factory",
    "listener_url",
    "listening_message",
    "run_coroutine",
    "run_server",
    "serve",
    "storage_description",
    "worker_count",
]

log = logging.getLogger("cargohold.serve")

AppFactory = Callable[[Config], web.Application]

# The shortest drain: in-flight requests are cancelled almost at once.
_NO_DRAIN = 0.001
# Seconds between checks of the connections still busy while draining.
_DRAIN_POLL = 0.05

_TLS_VERSIONS = {"tls1.2": ssl.TLSVersion.TLSv1_2, "tls1.3": ssl.TLSVersion.TLSv1_3}


def build_ssl_context(tls: TLSConfig) -> ssl.SSLContext | None:
    """The server TLS context for ``http.tls``, or None when TLS is off.

    ``clientcas`` make client certificates mandatory (CERT_REQUIRED). Raises OSError or
    ssl.SSLError when a certificate, key or CA file cannot be loaded.
    """
    if not tls.enabled:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = _TLS_VERSIONS[tls.minimumtls]
    context.load_cert_chain(tls.certificate, tls.key)
    if tls.clientcas:
        for cafile in tls.clientcas:
            context.load_verify_locations(cafile=cafile)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def storage_description(config: Config) -> str:
    """``"filesystem at /var/lib/registry"`` or just the driver name."""
    root = config.storage.driver_params.get("rootdirectory")
    name = config.storage.driver_name
    return f"{name} at {root}" if root else name


def worker_count(config: Config) -> int:
    """Processes to serve with: ``http.workers``, or one per core; always 1 for ``inmemory``.

    The in-memory driver keeps the registry inside one process, which other workers cannot see.
    """
    wanted = config.http.workers or os.cpu_count() or 1
    if wanted > 1 and config.storage.driver_name == "inmemory":
        log.warning(
            "the inmemory storage driver lives in one process: serving with 1 worker, not %d",
            wanted,
        )
        return 1
    return wanted


def listener_url(address: Any, scheme: str) -> str:
    """A bound socket address as a URL: ``http://127.0.0.1:5000``, ``http://[::1]:5000``, ``unix:PATH``."""
    if isinstance(address, str):  # a unix socket path
        return f"unix:{address}"
    host, port = address[0], address[1]
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


async def run_server(
    app: web.Application,
    http: HTTPConfig,
    *,
    on_listening: Callable[[str], None] | None = None,
    on_debug_listening: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
    sock: socket.socket | None = None,
    debug_sock: socket.socket | None = None,
) -> None:
    """Serve ``app`` on ``http.addr`` (TCP or unix socket, TLS from ``http.tls``) until stopped.

    Listens on ``sock`` instead when given (a listener shared by workers), and serves the debug
    application on ``debug_sock`` or ``http.debug.addr`` if either is set. Stops when ``stop`` is
    set or, with ``handle_signals``, on SIGTERM/SIGINT; then stops accepting connections and
    waits up to ``http.draintimeout`` for in-flight requests before closing. ``on_listening``
    (``on_debug_listening``) receives the bound address as a URL once accepting. The app logs
    its own access lines, so aiohttp's access log is off. Raises OSError when an address
    cannot be bound.
    """
    stop = stop if stop is not None else asyncio.Event()
    context = build_ssl_context(http.tls)
    # Imported here, as the debug app is: serving an arbitrary app needs no registry code loaded.
    from cargohold.api.server_options import RegistryRunner, ServerOptions

    # Parser limits, idle timeout and OCI-shaped parse errors (414/431) for every connection.
    runner = RegistryRunner(
        app,
        ServerOptions.from_config(http),
        handle_signals=False,
        access_log=None,
        # _drain waits up to http.draintimeout (Distribution's drain); whatever still runs after
        # it is cancelled at once. (aiohttp reads 0 as "no limit", hence the floor.)
        shutdown_timeout=_NO_DRAIN,
    )
    await runner.setup()
    debug: web.AppRunner | None = None
    loop = asyncio.get_running_loop()
    signals: list[signal.Signals] = []
    try:
        site: web.BaseSite
        if sock is not None:
            site = web.SockSite(runner, sock, ssl_context=context)
        elif http.net == "unix":
            site = web.UnixSite(runner, http.addr, ssl_context=context)
        else:
            host, port = http.addr_host_port()
            site = web.TCPSite(runner, host, port, ssl_context=context)
        await site.start()
        if debug_sock is not None or http.debug.addr:
            debug = await _start_debug(app, http.debug, debug_sock)
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
                signals.append(sig)
        if on_listening is not None:
            on_listening(listener_url(runner.addresses[0], "https" if context else "http"))
        if debug is not None and on_debug_listening is not None:
            on_debug_listening(listener_url(debug.addresses[0], "http"))
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        if sock is not None:
            # uvloop serves a dup of a given socket: ours must close too, or the kernel keeps
            # queueing connections on it that nobody will accept while requests drain.
            sock.close()
        await _drain(runner, http.draintimeout.total_seconds())
        await runner.cleanup()
        if debug is not None:
            await debug.cleanup()
        if debug_sock is not None:
            debug_sock.close()


async def _drain(runner: web.AppRunner, seconds: float) -> None:
    """Stop accepting, close idle connections, and wait up to ``seconds`` for busy ones.

    As Go's ``http.Server.Shutdown`` (Distribution's drain): a request in progress keeps its
    connection, so an upload whose body is still arriving completes. aiohttp's own shutdown
    marks every connection closing first, after which it discards the rest of a request body.
    """
    for site in list(runner.sites):
        await site.stop()
    server = runner.server
    if server is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        busy = False
        for connection in server.connections:
            # aiohttp has no public flag; without it, its own shutdown (which drops bodies) runs.
            if getattr(connection, "_request_in_progress", False):
                busy = True
            else:
                connection.close()  # idle: no new request may start on it
        if not busy or loop.time() >= deadline:
            return
        await asyncio.sleep(_DRAIN_POLL)


async def _start_debug(
    app: web.Application, debug: DebugConfig, sock: socket.socket | None
) -> web.AppRunner:
    """Start the debug application (health, metrics) for ``app``; plain HTTP, as Distribution's."""
    # Imported here: serving an arbitrary app must not need the registry API at import time.
    from cargohold.api.debug import create_debug_app

    runner = web.AppRunner(create_debug_app(app, debug), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site: web.BaseSite
        if sock is not None:
            site = web.SockSite(runner, sock)
        else:
            host, port = split_host_port(debug.addr)
            site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when uvloop is installed, else None (asyncio's default loop)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every platform we test
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def listening_message(url: str, config: Config) -> str:
    """The line ``serve`` announces once accepting (tests and scripts wait for it)."""
    return f"cargohold listening on {url} (storage: {storage_description(config)})"


def debug_message(url: str) -> str:
    """The line announcing the debug server."""
    return f"cargohold debug server listening on {url}"


def serve(
    config: Config,
    app_factory: AppFactory,
    announce: Callable[[str], None] = print,
) -> int:
    """Build the app with ``app_factory`` and serve it until SIGTERM/SIGINT; returns the exit code.

    Serves in this process, or in :func:`worker_count` forked workers. Announces
    ``cargohold listening on URL (storage: ...)`` (then the debug server's URL, if any) through
    ``announce`` once accepting. Returns 0 after a graceful stop. Raises OSError/ssl.SSLError if
    a listener or its TLS files cannot be set up.
    """
    # Before the workers fork, so that they inherit it.
    tune_malloc()
    workers = worker_count(config)
    if workers > 1:
        from cargohold.cli.workers import Supervisor

        return Supervisor(config, app_factory, workers, announce).run()

    async def main() -> None:
        # Built inside the loop: the factory may create loop-bound resources.
        app = app_factory(config)
        await run_server(
            app,
            config.http,
            on_listening=lambda url: announce(listening_message(url, config)),
            on_debug_listening=lambda url: announce(debug_message(url)),
        )

    run_coroutine(main(), event_loop_factory())
    return 0


def run_coroutine(
    main: Coroutine[Any, Any, None], factory: Callable[[], asyncio.AbstractEventLoop] | None
) -> None:
    """Run ``main`` to completion in a new event loop made by ``factory`` (asyncio's if None)."""
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)
