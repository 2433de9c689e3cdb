"""A Chroma server as a child process: ``chroma run --path DIR --port N`` from the chromadb package.

For several processes sharing one knowledge base on a machine (``assistant chroma``), and for
tests that use the server mode for real (``HttpClient``). ``start()`` waits until the heartbeat
answers and raises ``ServiceError`` with the server's last log lines otherwise; ``stop()``
terminates it (and kills it after a grace period). The server listens on loopback unless told
otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from observe.errors import ServiceError

START_TIMEOUT_S = 60.0


def chroma_command() -> str:
    """The ``chroma`` program installed beside this Python (or on ``PATH``)."""
    beside = Path(sys.executable).parent / "chroma"
    found = str(beside) if beside.exists() else shutil.which("chroma")
    if found is None:
        raise ServiceError("the `chroma` program is not installed", hint="run `make install`")
    return found


class ChromaServer:
    """One ``chroma run`` process keeping its data in ``path``."""

    def __init__(self, path: Path, port: int, host: str = "127.0.0.1") -> None:
        self.path = path
        self.port = port
        self.host = host
        self.log_path = path.parent / f"{path.name}-chroma.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def alive(self) -> bool:
        """Whether the heartbeat answers."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def start(self) -> ChromaServer:
        """Start the server and wait for its heartbeat."""
        self.path.mkdir(parents=True, exist_ok=True)
        command = [chroma_command(), "run", "--path", str(self.path), "--port", str(self.port)]
        command += ["--host", self.host]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.alive():
                return self
            if self._process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        tail = self.log_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise ServiceError(
            f"the Chroma server on port {self.port} did not start: {' | '.join(tail)}",
            hint="pick another port or check the data dir",
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
