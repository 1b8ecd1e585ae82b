"""Fixed-duration request-rate runs: ``wrk`` for GET, ApacheBench (``ab -i``) for HEAD.

wrk 4.1 (Debian's) cannot benchmark HEAD: its parser waits for the body a HEAD response's
Content-Length announces and every connection stalls. ``ab -k -i`` parses HEAD correctly, counts
non-2xx responses exactly and, at concurrency 64 on loopback, drives as many requests per second
on one core as wrk does. Each workload's ceiling is measured with the same tool and method.

wrk counts statuses of 400 and above (``errors.status``, reported by a Lua ``done`` hook); a probe
checks beforehand that the exact request answers 2xx, so a 3xx cannot slip through uncounted.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_MARK: Final = "BENCH_JSON "
_OPENER: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))
#: Tools needed per method, for the installer.
TOOLS: Final = {"GET": "wrk", "HEAD": "ab"}

_DONE: Final = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d}\n',
    "BENCH_JSON ", summary.requests, summary.duration, e.status, e.connect,
    e.read, e.write, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class LoadResult:
    """Requests per second, latency percentiles (ms) and every kind of failed request."""

    tool: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non2xx: int
    socket_errors: int


def probe(url: str, method: str, headers: Mapping[str, str]) -> int:
    """Send the request once; return its status, raising RuntimeError unless it is 2xx."""
    request = urllib.request.Request(url, method=method, headers=dict(headers))
    try:
        with _OPENER.open(request, timeout=30) as response:
            status: int = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    if not 200 <= status < 300:
        raise RuntimeError(f"{method} {url} answered {status}, not 2xx: not benchmarking it")
    return status


def _lua(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def run_wrk(
    url: str,
    headers: Mapping[str, str],
    *,
    duration: float,
    connections: int,
    threads: int,
    prefix: tuple[str, ...] = (),
) -> LoadResult:
    """GET ``url`` with wrk for ``duration`` seconds; ``prefix`` may pin it (``taskset``)."""
    lines = ['wrk.method = "GET"']
    lines += [f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write("\n".join(lines) + "\n" + _DONE)
        script.flush()
        command = [
            *prefix,
            *("wrk", f"-t{threads}", f"-c{max(connections, threads)}"),
            *(f"-d{max(round(duration), 1)}s", "--timeout", "10s", "-s", script.name, url),
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=duration + 60, check=False
        )
    found = [line for line in done.stdout.splitlines() if line.startswith(_MARK)]
    if done.returncode != 0 or not found:
        raise RuntimeError(
            f"wrk failed ({done.returncode}): {done.stdout[-800:]}{done.stderr[-800:]}"
        )
    data = json.loads(found[-1].removeprefix(_MARK))
    seconds = data["duration_us"] / 1e6
    errors = sum(data[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return LoadResult(
        tool="wrk",
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=data["requests"],
        non2xx=data["status_errors"],
        socket_errors=errors,
    )


def _ab_field(text: str, label: str, default: str | None = None) -> str:
    match = re.search(rf"^{re.escape(label)}:\s+([0-9.]+)", text, re.MULTILINE)
    if match is None:
        if default is None:
            raise RuntimeError(f"ab output lacks {label!r}: {text[-800:]}")
        return default
    return match.group(1)


def run_ab(
    url: str,
    headers: Mapping[str, str],
    *,
    duration: float,
    connections: int,
    prefix: tuple[str, ...] = (),
) -> LoadResult:
    """HEAD ``url`` with keep-alive ApacheBench for ``duration`` seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "percentiles.csv"
        command = [*prefix, "ab", "-q", "-k", "-i", "-c", str(connections)]
        # -t implies -n 50000; a later -n lifts that cap so only the time limit ends the run.
        command += ["-t", f"{max(round(duration), 1)}", "-n", "100000000", "-s", "10"]
        for key, value in headers.items():
            command += ["-H", f"{key}: {value}"]
        command += ["-e", str(csv), url]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=duration + 60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"ab failed ({done.returncode}): {done.stdout[-800:]}{done.stderr[-800:]}"
            )
        percentiles = dict(
            line.split(",", 1) for line in csv.read_text().splitlines()[1:] if "," in line
        )
    out = done.stdout
    return LoadResult(
        tool="ab",
        rps=float(_ab_field(out, "Requests per second")),
        p50_ms=float(percentiles["50"]),
        p99_ms=float(percentiles["99"]),
        requests=int(_ab_field(out, "Complete requests")),
        non2xx=int(_ab_field(out, "Non-2xx responses", "0")),
        socket_errors=int(_ab_field(out, "Failed requests")),
    )


def run_load(
    url: str,
    method: str,
    headers: Mapping[str, str],
    *,
    duration: float,
    connections: int,
    pinned: bool,
) -> LoadResult:
    """Probe once, then load ``url``; pinned runs the tool on core 1 (the server has core 0)."""
    probe(url, method, headers)
    prefix = ("taskset", "-c", "1") if pinned else ()
    if method == "HEAD":
        return run_ab(url, headers, duration=duration, connections=connections, prefix=prefix)
    threads = 1 if pinned else 2
    return run_wrk(
        url, headers, duration=duration, connections=connections, threads=threads, prefix=prefix
    )
