"""The knowledge base on a Chroma server (``chroma run``), as a deployment runs it: ingest and
answer over HTTP, and a stopped server gives a clear error, not a traceback, then recovers."""

from __future__ import annotations

import json
from pathlib import Path

from graph.services.embedded_redis import free_port
from integration.cli_runner import run_assistant
from knowledge.chroma_server import ChromaServer

DOCS = Path(__file__).parents[1] / "data" / "e2e"


def test_ingest_and_answer_through_a_chroma_server_and_survive_it_stopping(
    tmp_path: Path,
) -> None:
    server = ChromaServer(tmp_path / "chroma-server", free_port()).start()
    env = {"ASSISTANT_CHROMA_URL": server.url, "ASSISTANT_REDIS_PORT": str(free_port())}
    try:
        ingest = run_assistant(["ingest", "--json", str(DOCS)], tmp_path / "a", env=env)
        assert ingest.returncode == 0, ingest.stderr.decode()
        assert json.loads(ingest.stdout)["files_ingested"] == 3
        assert not (tmp_path / "a" / "chroma").exists(), "nothing stored on local disk"
        question = "How do I roll back a bad release?"
        # another data dir: the knowledge lives in the server, not with the process
        ask = run_assistant(["ask", "--json", "--no-cache", question], tmp_path / "b", env=env)
        assert ask.returncode == 0, ask.stderr.decode()
        assert json.loads(ask.stdout)["citations"][0]["source"] == "e2e/deploys.rst"

        server.stop()
        down = run_assistant(["ask", "--json", question], tmp_path / "b", env=env)
        assert down.returncode != 0 and b"Traceback" not in down.stderr
        assert b"Chroma" in down.stderr and b"chroma run" in down.stderr

        server.start()  # the same data dir: the knowledge base is back
        again = run_assistant(["search", "--json", "roll back a release"], tmp_path / "b", env=env)
        assert again.returncode == 0 and json.loads(again.stdout)[0]["source"] == "e2e/deploys.rst"
    finally:
        server.stop()
