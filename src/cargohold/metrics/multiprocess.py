"""Metrics that stay correct across worker processes (prometheus_client's multiprocess mode).

With ``http.workers`` > 1 every worker records into memory-mapped files in one directory
(``PROMETHEUS_MULTIPROC_DIR``, a temporary directory the supervisor creates and removes) and a
scrape served by any worker merges the files of all of them: counters and histograms are summed,
gauges follow their ``multiprocess_mode``. We chose this over aggregating in the parent because
it needs no IPC of our own and leaves every worker able to answer the debug server, which all
workers share like the API listener.
"""

from __future__ import annotations

import os
from typing import Final

from prometheus_client import CollectorRegistry, multiprocess, values

__all__ = ["ENV", "disable", "enable", "enabled", "exposition_registry", "process_dead"]

#: The variable prometheus_client reads to find the directory of the workers' files.
ENV: Final = "PROMETHEUS_MULTIPROC_DIR"


def enable(directory: str) -> None:
    """Record every metric created from now on into files under ``directory`` (must exist).

    prometheus_client picks its value class once, when it is first imported; it is picked again
    here so the mode does not depend on import order.
    """
    os.environ[ENV] = directory
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def disable() -> None:
    """Back to single-process values for metrics created from now on (the supervisor's exit)."""
    os.environ.pop(ENV, None)
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def enabled() -> bool:
    """Whether this process records into a multiprocess directory."""
    return bool(os.environ.get(ENV))


def exposition_registry(registry: CollectorRegistry) -> CollectorRegistry:
    """The registry a scrape should read: all workers' files in multiprocess mode, else ``registry``."""
    directory = os.environ.get(ENV)
    if not directory:
        return registry
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
    return merged


def process_dead(pid: int) -> None:
    """Drop the live gauges (in-flight requests, pool connections) of a worker that exited."""
    directory = os.environ.get(ENV)
    if directory:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
