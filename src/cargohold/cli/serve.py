"""Running an aiohttp application as the registry server: listen, announce, drain on SIGTERM.

Kept apart from :mod:`cargohold.cli.main` so it can be driven with any application, which is how
its tests exercise start-up and graceful shutdown without the registry API.
"""

from __future__ import annotations

import asyncio
import signal
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web
from aiohttp.log import access_logger

from cargohold.config import Config, HTTPConfig, TLSConfig

__all__ = [
    "AppFactory",
    "build_ssl_context",
    "event_loop_factory",
    "run_server",
    "serve",
    "storage_description",
]

AppFactory = Callable[[Config], web.Application]

# The shortest drain: in-flight requests are cancelled almost at once.
_NO_DRAIN = 0.001

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


def _url(address: Any, scheme: str) -> str:
    if isinstance(address, str):  # a unix socket path
        return f"unix:{address}"
    host, port = address[0], address[1]
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


async def run_server(
    app: web.Application,
    http: HTTPConfig,
    *,
    access_log: bool = True,
    on_listening: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
) -> None:
    """Serve ``app`` on ``http.addr`` (TCP or unix socket, TLS from ``http.tls``) until stopped.

    Stops when ``stop`` is set or, with ``handle_signals``, on SIGTERM/SIGINT; then stops
    accepting connections and waits up to ``http.draintimeout`` for in-flight requests before
    closing. ``on_listening`` receives the first bound address as a URL once accepting.
    Raises OSError when the address cannot be bound.
    """
    stop = stop if stop is not None else asyncio.Event()
    context = build_ssl_context(http.tls)
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=access_logger if access_log else None,
        # How long in-flight requests may finish after the listener closes (Distribution's drain).
        # aiohttp reads 0 as "no limit"; Distribution's 0 means "do not wait", hence the floor.
        shutdown_timeout=max(http.draintimeout.total_seconds(), _NO_DRAIN),
    )
    await runner.setup()
    loop = asyncio.get_running_loop()
    signals: list[signal.Signals] = []
    try:
        site: web.BaseSite
        if http.net == "unix":
            site = web.UnixSite(runner, http.addr, ssl_context=context)
        else:
            host, port = http.addr_host_port()
            site = web.TCPSite(runner, host, port, ssl_context=context)
        await site.start()
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
                signals.append(sig)
        if on_listening is not None:
            on_listening(_url(runner.addresses[0], "https" if context else "http"))
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await runner.cleanup()


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when uvloop is installed, else None (asyncio's default loop)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every platform we test
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def serve(
    config: Config,
    app_factory: AppFactory,
    announce: Callable[[str], None] = print,
) -> int:
    """Build the app with ``app_factory`` and serve it until SIGTERM/SIGINT; returns exit code 0.

    Prints ``cargohold listening on URL (storage: ...)`` through ``announce`` once accepting.
    Raises OSError/ssl.SSLError if the listener or its TLS files cannot be set up.
    """

    def listening(url: str) -> None:
        announce(f"cargohold listening on {url} (storage: {storage_description(config)})")

    async def main() -> None:
        # Built inside the loop: the factory may create loop-bound resources.
        app = app_factory(config)
        await run_server(
            app,
            config.http,
            access_log=not config.log.accesslog.disabled,
            on_listening=listening,
        )

    _run(main(), event_loop_factory())
    return 0


def _run(
    main: Coroutine[Any, Any, None], factory: Callable[[], asyncio.AbstractEventLoop] | None
) -> None:
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)
