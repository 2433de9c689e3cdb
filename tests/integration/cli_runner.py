"""Running the installed ``assistant`` command as a user would, for subprocess tests.

Each run gets its own data dir, a free port for the embedded Redis (never the default one a
developer's ``make run`` may hold), no ``ASSISTANT_REDIS_URL`` from the outer environment, and
the Hugging Face libraries offline.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from graph.services.embedded_redis import free_port

ASSISTANT = Path(sys.executable).parent / "assistant"


def run_assistant(
    args: list[str],
    data_dir: Path,
    *,
    env: dict[str, str] | None = None,
    unset_prefixes: tuple[str, ...] = (),
    timeout: float = 300,
    **run: Any,
) -> subprocess.CompletedProcess[Any]:
    """``assistant *args`` with ``data_dir``; ``run`` goes to ``subprocess.run`` (``input``,
    ``text``, ``cwd`` …); output is captured, a non-zero exit is returned, not raised."""
    environ = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data_dir),
        "ASSISTANT_REDIS_PORT": str(free_port()),
        "HF_HUB_OFFLINE": "1",
        **(env or {}),
    }
    environ.pop("ASSISTANT_REDIS_URL", None)
    for name in [name for name in environ if unset_prefixes and name.startswith(unset_prefixes)]:
        del environ[name]
    return subprocess.run(
        [str(ASSISTANT), *args],
        capture_output=True,
        env=environ,
        timeout=timeout,
        check=False,
        **run,
    )
