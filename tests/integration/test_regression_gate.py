"""The CI regression gate: the Python FAQ golden set through the real embedded default (local
model, quote answers) passes ``tests/data/golden-gate.yaml``, and the same gate fails, naming
what dropped, when answer quality is broken on purpose."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ASSISTANT = str(Path(sys.executable).with_name("assistant"))
SHARED = Path("/work/shared/datasets")
FAQ_DOCS = SHARED / "python-docs" / "faq"
GOLDEN = SHARED / "python-faq.jsonl"
GATE = Path(__file__).parents[1] / "data" / "golden-gate.yaml"


def run(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ASSISTANT, *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", **env},
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gate") / "data"
    assert run("ingest", str(FAQ_DOCS), data_dir=path).returncode == 0
    return path


def test_the_golden_set_passes_the_gate(data_dir: Path) -> None:
    result = run(
        "eval",
        "dataset",
        str(GOLDEN),
        "--limit",
        "20",
        "--gate",
        str(GATE),
        "--json",
        data_dir=data_dir,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["gate"] == {"passed": True, "failures": []}
    assert summary["rows"] == 20 and summary["checks_failed"] <= 0.1


def test_the_gate_fails_when_answer_quality_drops(data_dir: Path) -> None:
    broken = {
        "ASSISTANT_QUOTE_MIN_SIMILARITY": "0.99",
        "ASSISTANT_QUOTE_HEADING_SIMILARITY": "0.99",
    }
    result = run(
        "eval",
        "dataset",
        str(GOLDEN),
        "--limit",
        "20",
        "--gate",
        str(GATE),
        "--json",
        data_dir=data_dir,
        **broken,
    )
    assert result.returncode == 1
    failures = json.loads(result.stdout)["gate"]["failures"]
    assert any(f.startswith("cites_gold") for f in failures)
    assert any(f.startswith("couldnt_find") for f in failures)
