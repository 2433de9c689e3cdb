"""Reading JSON-lines files that people hand to the benchmark commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from observe.errors import ConfigError


def json_rows(path: Path, hint: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """``("<path>:<line>", object)`` for each non-blank line of ``path``.

    An unreadable file, or a line that is not a JSON object, raises one ``ConfigError`` naming
    the file (and line) with ``hint``. Lines are split on ``\\n`` only: ``str.splitlines`` also
    breaks at U+2028, which a JSON string may hold.
    """
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}", hint=hint) from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc})", hint=hint) from None
        if not isinstance(row, dict):
            raise ConfigError(f"{where}: not a JSON object", hint=hint)
        yield where, row
