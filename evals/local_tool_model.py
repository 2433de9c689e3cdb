"""A real model behind the OpenAI-compatible double: llama.cpp's function-calling chat format.

``LocalToolModel(path).reply(messages, tools)`` answers an OpenAI chat request that offers tools
with the GGUF model at ``path`` (the bundled SmolLM2-135M by default) through llama-cpp-python's
``chatml-function-calling`` handler, which constrains a tool call to the offered names and their
JSON schemas. It is what ``assistant bench tools --model-double`` measures: the project's whole
native tool-calling path (schemas out, tool calls back, arguments validated) with a model that
was not written for the benchmark. Greedy decoding with a fixed seed, so runs repeat.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from graph.llm import SEED, local_model_path

MAX_TOKENS = 96


class LocalToolModel:
    """One llama.cpp model answering tool-calling requests, one at a time."""

    def __init__(self, path: Path | None = None, n_threads: int = 2) -> None:
        from llama_cpp import Llama

        self.path = path or local_model_path()
        self._llm = Llama(
            model_path=str(self.path),
            n_ctx=2048,
            n_threads=n_threads,
            chat_format="chatml-function-calling",
            seed=SEED,
            verbose=False,
        )
        self._lock = threading.Lock()

    def reply(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        """The assistant message for an OpenAI ``messages`` + ``tools`` request."""
        plain = [
            {"role": m["role"], "content": _text(m.get("content"))}
            for m in messages
            if m.get("role") in ("system", "user", "assistant")
        ]
        offer: dict[str, Any] = {"tools": tools, "tool_choice": "auto"} if tools else {}
        with self._lock:
            out = self._llm.create_chat_completion(
                messages=plain,  # type: ignore[arg-type]
                max_tokens=MAX_TOKENS,
                temperature=0.0,
                seed=SEED,
                **offer,
            )
        message = out["choices"][0]["message"]  # type: ignore[index]
        return {"content": message.get("content"), "tool_calls": message.get("tool_calls") or []}


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")
