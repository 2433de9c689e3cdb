"""Shared fixtures: the real embedded Redis (Search + JSON) on a private port, and a real Chroma
server (``chroma run``) for the tests of the server mode.

Hugging Face libraries are forced offline before anything imports them.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from graph.services.embedded_redis import EmbeddedRedis, free_port  # noqa: E402
from knowledge.chroma_server import ChromaServer  # noqa: E402

RedisFactory = Callable[..., EmbeddedRedis]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of one embedded Redis shared by the whole session (stopped at the end)."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of one Chroma server shared by the session (``chroma run``; stopped at the end)."""
    with ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data", free_port()) as server:
        yield server.url


@pytest.fixture
def embedded_redis_factory() -> Iterator[RedisFactory]:
    """``make(data_dir, port=None, start=True) -> EmbeddedRedis``; every server made is stopped.

    Calling it twice with the same dir and port gives two handles on one server (restart tests).
    """
    made: list[EmbeddedRedis] = []

    def make(data_dir: Path, port: int | None = None, *, start: bool = True) -> EmbeddedRedis:
        server = EmbeddedRedis(data_dir, port if port is not None else free_port())
        made.append(server)
        if start:
            server.start()
        return server

    yield make
    for server in reversed(made):
        server.stop()
