"""The cache from the command line, as a user runs it: re-ingesting a changed document drops
the answers built on it, ``ask --no-cache`` makes a new one, ``bench cache`` scores pair files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from graph.services.embedded_redis import free_port
from integration.cli_runner import run_assistant

DOCS = Path(__file__).parents[1] / "data" / "e2e"
QUESTION = "How do I roll back a bad release?"


def ask(data_dir: Path, port: str, *extra: str) -> dict:
    proc = run_assistant(
        ["ask", "--json", *extra, QUESTION], data_dir, env={"ASSISTANT_REDIS_PORT": port}
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def test_reingesting_a_changed_document_drops_its_cached_answers(tmp_path: Path) -> None:
    docs, data, port = tmp_path / "docs", tmp_path / "data", str(free_port())
    shutil.copytree(DOCS, docs)
    env = {"ASSISTANT_REDIS_PORT": port}
    assert run_assistant(["ingest", str(docs)], data, env=env).returncode == 0
    first = ask(data, port)
    assert not first["cached"] and ask(data, port)["cached"], "the second ask is a hit"
    assert not ask(data, port, "--no-cache")["cached"], "--no-cache makes a new answer"
    page = docs / "deploys.rst"
    page.write_text(page.read_text().replace("four minutes", "six minutes"))
    proc = run_assistant(["ingest", str(docs), "--json"], data, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["cached_answers_removed"] >= 1
    again = ask(data, port)
    assert not again["cached"], "the answer built on the old text is gone"
    assert "six minutes" in again["answer"]


def test_bench_cache_scores_a_pair_file(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"id": "p1", "a": "How do I reset the VPN?", "b": "how can I reset the vpn", "same": True},
        {
            "id": "n1",
            "a": "How do I enable the VPN?",
            "b": "How do I disable the VPN?",
            "same": False,
        },
        {
            "id": "n2",
            "a": "How do I sort a list?",
            "b": "How do I sort a list in place?",
            "same": False,
        },
    ]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = run_assistant(["bench", "cache", "--pairs", str(pairs), "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert (report["paraphrase_hit_rate"], report["false_hit_rate"]) == (1.0, 0.0)
    assert report["false_hits"] == [] and report["lookup_ms"]["n"] == 3
    assert report["verdicts"]["opposite"] == 1 and report["verdicts"]["narrower"] == 1
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"a": "x"}\n')
    bad = run_assistant(["bench", "cache", "--pairs", str(broken)], tmp_path)
    assert bad.returncode == 1 and b"broken.jsonl:1" in bad.stderr
