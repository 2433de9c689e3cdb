"""``assistant bench tools``: tool selection and arguments with the configured routing, or with
a real model behind a local OpenAI-compatible double (``--model-double``)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.support import JsonOption, out, print_json, run_async

DOUBLE_MODEL = "openai:double-1"


def bench_tools(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help='JSONL rows {"text", "expected_tool", "expected_args"?} (default: shipped set).',
        ),
    ] = None,
    model_double: Annotated[
        str | None,
        typer.Option(
            "--model-double",
            help="Plan with a real model through a local OpenAI-compatible server: 'local' "
            "(the bundled GGUF) or a path to an instruct .gguf file.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Tool-selection accuracy, argument exact match, no-tool precision, failures by type."""
    from evals.tools_bench import SHIPPED

    result = run_async(lambda: _run(data or SHIPPED, model_double))
    if as_json:
        print_json(result)
        return
    args = "n/a" if result["args_exact"] is None else f"{result['args_exact']:.1%}"
    out.print(
        f"{result['n']} messages · {result['planning']} ({result['model']}) · tool accuracy "
        f"{result['tool_accuracy']:.1%} · arguments exact {args} · no-tool precision "
        f"{result['no_tool_precision']} · failures {result['failures_by_type']} · "
        f"p50 {result['routing_ms']['p50']:.0f} ms"
    )


async def _run(data: Path, model_double: str | None) -> dict[str, Any]:
    from evals.tools_bench import bench_tools as run_bench

    if model_double is None:
        return await run_bench(data)
    return await with_model_double(model_double, lambda settings: run_bench(data, settings))


async def with_model_double(
    spec: str, run: Callable[[Any], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """``run(settings)`` with the chat model served by a local OpenAI-compatible double whose
    answers and tool calls come from a GGUF model (``graph.llm`` and ``langchain-openai`` talk
    to it over HTTP as to any provider)."""
    import asyncio

    from evals.local_tool_model import LocalToolModel
    from evals.openai_double import OpenAIDouble
    from graph.llm import local_model_path
    from graph.settings import load_settings

    path = local_model_path("local" if spec == "local" else f"local:{spec}")
    model = await asyncio.to_thread(LocalToolModel, path)
    double = await OpenAIDouble(
        reply=lambda messages: str(model.reply(messages, [])["content"] or ""),
        tool_reply=model.reply,
    ).start()
    os.environ.setdefault("OPENAI_API_KEY", "double")  # the double ignores it; the client needs one
    try:
        tools = load_settings().tools.model_copy(update={"planning": "model"})
        settings = load_settings(chat_model=DOUBLE_MODEL, chat_base_url=double.url, tools=tools)
        result = await run(settings)
    finally:
        await double.stop()
    return {**result, "model": f"{DOUBLE_MODEL} ← {path.name} (llama.cpp function calling)"}
