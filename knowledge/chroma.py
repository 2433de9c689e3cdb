"""Opening Chroma: an on-disk store in a checked, writable directory, or a server by URL.

Contract: ``open_client`` returns a Chroma client with telemetry off, or raises ``ServiceError``
(an unusable data dir, an unreachable server) or ``ConfigError`` (a malformed URL, neither a path
nor a URL) with a hint naming the setting to change.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from observe.errors import ConfigError, ServiceError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


def open_client(path: Path | None, url: str | None) -> ClientAPI:
    """A client for the server at ``url``, else for the on-disk store at ``path``."""
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    client: ClientAPI
    if url is not None:
        client = _http_client(url, settings)
    elif path is not None:
        _check_writable_dir(path)
        try:
            client = chromadb.PersistentClient(path=str(path), settings=settings)
        except Exception as exc:
            raise ServiceError(
                f"cannot open the Chroma store in {path}: {exc}",
                hint="fix the data dir's permissions or remove a corrupt store",
            ) from exc
    else:
        raise ConfigError("KnowledgeIndex needs a data dir path or a Chroma URL")
    return client


def _check_writable_dir(path: Path) -> None:
    """Create ``path`` if needed and prove we can write there, else raise ``ServiceError``."""
    hint = (
        "set ASSISTANT_DATA_DIR to a writable directory, fix its permissions, "
        "or set ASSISTANT_CHROMA_URL"
    )
    if path.exists() and not path.is_dir():
        raise ServiceError(f"Chroma data dir {path} is not a directory", hint=hint)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ServiceError(
            f"Chroma data dir {path} cannot be created: {reason}", hint=hint
        ) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise ServiceError(f"Chroma data dir {path} is not writable", hint=hint)
    try:  # os.access is not the whole story (root, read-only mounts, ACLs): try a real write
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ServiceError(f"Chroma data dir {path} is not writable: {reason}", hint=hint) from exc


def _http_client(url: str, settings: Any) -> ClientAPI:
    import chromadb

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"Chroma URL {url!r} is not an http(s)://host[:port] URL",
            hint="set ASSISTANT_CHROMA_URL like http://localhost:8000",
        )
    ssl = parts.scheme == "https"
    try:
        port = parts.port or (443 if ssl else 8000)
    except ValueError as exc:
        raise ConfigError(f"Chroma URL {url!r} has an invalid port") from exc
    try:
        return chromadb.HttpClient(host=parts.hostname, port=port, ssl=ssl, settings=settings)
    except Exception as exc:
        raise ServiceError(
            f"Chroma server at {url} is unreachable: {type(exc).__name__}",
            hint="start it (`chroma run --path DIR --port N`) or unset ASSISTANT_CHROMA_URL "
            "to use the embedded on-disk store",
        ) from exc
