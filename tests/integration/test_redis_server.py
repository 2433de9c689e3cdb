"""The embedded Redis: real redis-server 8 + Search + JSON, started, reused, restarted, stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from graph.services.embedded_redis import EmbeddedRedis, free_port
from observe.errors import ServiceError

RedisFactory = Callable[..., EmbeddedRedis]

ROOT = Path(__file__).resolve().parents[2]


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_session_server_answers_with_aof_on_loopback(redis_url: str) -> None:
    client = _client(redis_url)
    assert client.ping() is True
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("bind")["bind"] == "127.0.0.1"
    assert client.config_get("protected-mode") == {"protected-mode": "yes"}


def test_search_and_json_modules_work(embedded_redis_factory: RedisFactory, tmp_path: Path) -> None:
    server = embedded_redis_factory(tmp_path / "redis")
    client = _client(server.url)
    assert client.execute_command("FT._LIST") == []
    client.json().set("doc:1", "$", {"title": "reset the VPN", "team": "it"})
    assert client.json().get("doc:1", "$.title") == ["reset the VPN"]
    client.execute_command(
        "FT.CREATE", "idx", "ON", "JSON", "PREFIX", "1", "doc:",
        "SCHEMA", "$.title", "AS", "title", "TEXT", "$.team", "AS", "team", "TAG",
    )  # fmt: skip
    assert client.execute_command("FT._LIST") == ["idx"]
    deadline = time.monotonic() + 5
    while client.ft("idx").info()["percent_indexed"] not in ("1", 1, 1.0):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    result = client.ft("idx").search("@team:{it} vpn")
    assert [doc.id for doc in result.docs] == ["doc:1"]

    info = server.info()
    assert info["redis_version"].startswith("8.")
    assert {"search", "ReJSON"} <= {m["name"] for m in info["modules"]}
    assert Path(info["data_dir"]) == (tmp_path / "redis").resolve()
    assert info["started_here"] is True


def test_data_survives_stop_and_start(embedded_redis_factory: RedisFactory, tmp_path: Path) -> None:
    data_dir = tmp_path / "redis"
    first = embedded_redis_factory(data_dir)
    client = _client(first.url)
    client.set("plain", "kept")
    client.json().set("memory:1", "$", {"turns": ["hi", "hello"]})
    first.stop()
    assert not first.is_running()

    second = embedded_redis_factory(data_dir, first.port, start=False)
    assert second.start() is True
    client = _client(second.url)
    assert client.get("plain") == "kept"
    assert client.json().get("memory:1", "$.turns") == [["hi", "hello"]]
    assert (data_dir / "appendonlydir").is_dir()


def test_second_handle_reuses_and_leaves_server_running(
    embedded_redis_factory: RedisFactory, tmp_path: Path
) -> None:
    owner = embedded_redis_factory(tmp_path / "redis")
    guest = EmbeddedRedis(tmp_path / "redis", owner.port)
    assert guest.start() is False
    assert guest.pid is None and guest.is_running()
    guest.stop()
    assert owner.is_running()
    assert _client(owner.url).ping() is True
    assert owner.pid is not None and _pid_alive(owner.pid)


def test_port_taken_by_plain_listener(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        server = EmbeddedRedis(tmp_path / "redis", port)
        with pytest.raises(ServiceError) as caught:
            server.start()
    assert caught.value.message == f"port {port} is already in use by another process"
    assert caught.value.hint is not None and "ASSISTANT_REDIS_PORT" in caught.value.hint
    assert server.pid is None


def test_port_taken_by_redis_serving_another_dir(
    embedded_redis_factory: RedisFactory, tmp_path: Path
) -> None:
    other = embedded_redis_factory(tmp_path / "other")
    with pytest.raises(ServiceError, match=f"port {other.port} is already in use"):
        EmbeddedRedis(tmp_path / "mine", other.port).start()
    assert other.is_running()


def test_data_dir_not_writable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    server = EmbeddedRedis(blocker / "redis", free_port())
    with pytest.raises(ServiceError, match="not a writable directory"):
        server.start()
    assert server.pid is None


def test_server_dying_at_startup_reports_its_log(tmp_path: Path) -> None:
    data_dir = tmp_path / "redis"
    (data_dir / "appendonlydir").mkdir(parents=True)
    (data_dir / "appendonlydir" / "appendonly.aof.manifest").write_text("garbage\n")
    server = EmbeddedRedis(data_dir, free_port())
    with pytest.raises(ServiceError) as caught:
        server.start()
    message = caught.value.message
    assert message.startswith("redis-server exited during startup")
    assert "manifest" in message.lower() and "\n" not in message
    assert server.pid is None and _port_is_free(server.port)


def test_stop_is_clean(embedded_redis_factory: RedisFactory, tmp_path: Path) -> None:
    server = embedded_redis_factory(tmp_path / "redis")
    pid = server.pid
    assert pid is not None and (tmp_path / "redis" / "redis.pid").exists()
    assert os.getsid(pid) != os.getsid(0)  # own session: a terminal Ctrl-C does not reach it
    server.stop()
    assert not _pid_alive(pid)  # reaped: a zombie would still accept signal 0
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    assert not (tmp_path / "redis" / "redis.pid").exists()
    assert _port_is_free(server.port)
    assert "ready to exit, bye bye" in server.log_file.read_text()
    server.stop()  # idempotent


def test_context_manager_starts_and_stops(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "redis", free_port()) as server:
        pid = server.pid
        assert _client(server.url).ping() is True
    assert pid is not None and not _pid_alive(pid)


def test_run_foreground_refuses_when_already_running(
    embedded_redis_factory: RedisFactory, tmp_path: Path
) -> None:
    owner = embedded_redis_factory(tmp_path / "redis")
    with pytest.raises(ServiceError, match="already running"):
        EmbeddedRedis(tmp_path / "redis", owner.port).run_foreground()
    assert owner.is_running()


@pytest.fixture
def foreground(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], EmbeddedRedis]]:
    """`run_foreground()` in a child Python that leads its own process group, like a terminal."""
    handle = EmbeddedRedis(tmp_path / "redis", free_port())
    code = (
        "from pathlib import Path; from graph.services.embedded_redis import EmbeddedRedis; "
        f"EmbeddedRedis(Path({str(handle.data_dir)!r}), {handle.port}).run_foreground()"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, start_new_session=True)
    yield proc, handle
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if handle.is_running():  # orphaned by a failed test: not our child, stop it by its pid
        os.kill(int((handle.data_dir / "redis.pid").read_text()), signal.SIGTERM)
        deadline = time.monotonic() + 10
        while handle.is_running() and time.monotonic() < deadline:
            time.sleep(0.05)


def test_run_foreground_stops_cleanly_on_ctrl_c(
    foreground: tuple[subprocess.Popen[bytes], EmbeddedRedis],
) -> None:
    proc, handle = foreground
    deadline = time.monotonic() + 30
    while not handle.is_running():
        assert proc.poll() is None, "run_foreground exited early"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    server_pid = int((handle.data_dir / "redis.pid").read_text())
    _client(handle.url).set("written-before-ctrl-c", "yes")

    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    assert proc.wait(20) == 0
    assert not _pid_alive(server_pid)
    assert _port_is_free(handle.port)

    assert handle.start() is True
    try:
        assert _client(handle.url).get("written-before-ctrl-c") == "yes"
    finally:
        handle.stop()


def test_stop_leaves_a_server_other_processes_still_use(
    tmp_path: Path, embedded_redis_factory: RedisFactory
) -> None:
    server = embedded_redis_factory(tmp_path / "shared")
    own = redis.Redis.from_url(server.url)
    own.ping()
    other = redis.Redis(host=server.host, port=server.port)  # another process: no client name
    other.ping()
    server.stop()
    assert other.ping() is True
    other.close()
    own.close()
    second = embedded_redis_factory(tmp_path / "shared", server.port, start=False)
    assert second.start() is False  # reused, still ours
    with redis.Redis(host=server.host, port=server.port) as client:
        client.shutdown()
