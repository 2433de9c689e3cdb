"""``assistant ask`` and ``assistant chat``: questions through the whole graph, in a terminal.

The helpers load settings, start the ``Assistant`` and close it again, even on error; answers
print as the output guard releases them, then the rest of the final answer and its sources.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from bot.cli.support import (
    ConversationOption,
    JsonOption,
    TraceOption,
    print_json,
    read_question,
    run_async,
)
from graph.factories import ingest_scanner, open_tracer
from graph.settings import Settings, load_settings
from observe.errors import AssistantError, InputRejected
from observe.tracing import Tracer

if TYPE_CHECKING:
    from graph.assistant import Assistant, TurnResult

console = Console()
HELP = (
    "Type a question and press Enter. Commands: /fresh (ask the last question again, without "
    'the cache), /memory (what I keep about you; say "remember that …" to add), /forget '
    "(delete it), /new (start a new conversation), /help, /quit (or Ctrl-D)."
)


async def precheck(text: str, settings: Settings) -> None:
    """Reject unusable input before any service starts (the graph checks it again)."""
    from guards.input_guard import check_input

    verdict = await check_input(text, max_chars=settings.max_input_chars)
    if not verdict.allowed:
        raise InputRejected(f"message rejected: {verdict.reason}")


def make_tracer(settings: Settings, echo: bool) -> Tracer:
    """The trace log, also rendered on stderr when ``echo`` (``--trace``) is set."""
    return open_tracer(settings, sys.stderr if echo else None)


def print_sources(result: TurnResult) -> None:
    """The numbered sources under an answer."""
    for citation in result.citations:
        console.print(
            f"  [dim][{citation['n']}] {escape(citation['source'])} — "
            f"{escape(citation['heading'])}[/]",
            highlight=False,
        )


def cache_note(result: TurnResult) -> str:
    """`` · cached answer, 3 h old`` for an answer from the cache, else empty."""
    if not result.cached:
        return ""
    from bot.views.text import human_duration

    return f" · cached answer, {human_duration(int(result.cache_age_s or 0))} old"


async def answer_and_print(
    assistant: Assistant, text: str, conversation_id: str, *, fresh: bool = False
) -> TurnResult:
    """Ask, printing the answer as the output guard releases it, then the rest of the final
    answer and the sources; ``fresh`` skips the semantic cache."""
    streamed: list[str] = []

    def on_text(text: str) -> None:
        streamed.append(text)
        console.out(text, end="", highlight=False)

    def on_task(task: dict[str, Any]) -> None:
        if task.get("type") != "task_update":
            return
        mark = {"complete": "✓", "error": "✗", "pending": "…"}.get(str(task.get("status")))
        if mark:  # a step that started is shown when it ends
            console.print(f"[dim]{mark} {escape(str(task.get('title', '')))}[/]")

    result = await assistant.ask(
        text,
        conversation_id=conversation_id,
        on_text=on_text,
        on_task=on_task,
        fresh=fresh,
        private=True,
    )
    shown = "".join(streamed).strip()
    if not shown:
        console.out(result.answer, highlight=False)
    elif result.answer.startswith(shown):  # what streamed, then the rest of the final answer
        console.out(result.answer[len(shown) :], highlight=False)
    else:  # the final check answered differently: show the whole final answer
        console.print("\n[dim](the final answer, as checked by the output guard:)[/]")
        console.out(result.answer, highlight=False)
    print_sources(result)
    again = " (/fresh for a new one)" if result.cached else ""
    console.print(
        f"[dim]{result.intent} · {result.timings_ms['total']:.0f} ms{cache_note(result)}{again} · "
        f"trace {result.trace_id[:8]}[/]"
    )
    return result


async def settle_approval(assistant: Assistant, result: TurnResult, *, can_ask: bool) -> None:
    """A tool call waiting for approval: ask the terminal user (``y`` runs it, anything else or
    no terminal rejects it) and print what happened."""
    if not result.approval:
        return
    approval = result.approval
    answer = ""
    if can_ask:
        try:
            answer = console.input(f"[bold]Run {escape(approval['tool'])}?[/] [y/N] ")
        except EOFError:
            answer = ""
    else:
        console.print("[dim](not run: approving needs an interactive terminal)[/]")
    approve = answer.strip().lower() in {"y", "yes"}
    outcome = await assistant.decide_tool_call(str(approval["id"]), "local", approve)
    console.out(plain_mrkdwn(outcome.message), highlight=False)
    if outcome.output:
        console.out(outcome.output, highlight=False)


def plain_mrkdwn(text: str) -> str:
    """Our own chat markup made plain for the terminal (``<@local>`` → ``you``, ``*x*`` → x)."""
    return text.replace("<@local>", "you").replace("*", "")


async def ask_once(
    text: str, *, conversation_id: str, stream: bool, trace: bool = False, fresh: bool = False
) -> TurnResult:
    """Answer one question (``fresh``: not from the cache); raises ``InputRejected`` for a
    message the guard refuses."""
    from graph.assistant import Assistant

    settings = load_settings()
    await precheck(text, settings)
    assistant = await Assistant.start(settings, tracer=make_tracer(settings, trace))
    try:
        if stream:
            result = await answer_and_print(assistant, text, conversation_id, fresh=fresh)
            await settle_approval(assistant, result, can_ask=sys.stdin.isatty())
        else:
            result = await assistant.ask(
                text, conversation_id=conversation_id, fresh=fresh, private=True
            )
    finally:
        await assistant.aclose()
    if result.blocked_reason:
        raise InputRejected(f"message rejected: {result.blocked_reason}")
    return result


async def chat_loop(
    conversation: str, ingest_if_empty: Sequence[Path], trace: bool = False
) -> None:
    """The terminal chat: one conversation, remembered across restarts."""
    from graph.assistant import Assistant
    from knowledge.ingest import ingest_paths

    settings = load_settings()
    with console.status("Starting Redis, Chroma, embeddings and the model…"):
        assistant = await Assistant.start(settings, tracer=make_tracer(settings, trace))
    try:
        index = assistant.context.index
        if ingest_if_empty and index.count() == 0:
            console.print(
                f"Knowledge base is empty: ingesting {', '.join(map(str, ingest_if_empty))}"
            )
            await asyncio.to_thread(
                ingest_paths,
                index,
                list(ingest_if_empty),
                scope=settings.knowledge_scope,
                scan=ingest_scanner(settings),
            )
        console.print(
            f"[bold]assistant[/] · {index.count()} chunks · model {settings.chat_model} · "
            f"conversation {conversation!r}\n{HELP}"
        )
        last_question = ""
        while True:
            try:
                text = console.input("[bold cyan]you ›[/] ")
            except EOFError:
                console.print()
                break
            command = text.strip().lower()
            if command in {"/quit", "/exit"}:
                break
            if command == "/help":
                console.print(HELP)
                continue
            if command == "/new":
                conversation = f"terminal-{secrets.token_hex(4)}"
                console.print(f"New conversation {conversation!r}.")
                continue
            if command in {"/memory", "/forget"}:
                console.print(await memory_reply(assistant, command))
                continue
            fresh = command == "/fresh"
            if fresh:
                if not last_question:
                    console.print("Nothing to ask again yet.")
                    continue
                text = last_question
            if not command:
                continue
            last_question = text
            console.print("[bold green]assistant ›[/] ", end="")
            try:
                result = await answer_and_print(assistant, text, conversation, fresh=fresh)
                await settle_approval(assistant, result, can_ask=True)
            except AssistantError as exc:  # one failed turn must not end the chat
                hint = f" (hint: {exc.hint})" if exc.hint else ""
                console.print(f"\n[red]error:[/] {escape(exc.message + hint)}", highlight=False)
    finally:
        await assistant.aclose()


async def memory_reply(assistant: Assistant, command: str) -> str:
    """``/memory`` lists what the assistant keeps about the terminal user; ``/forget`` deletes
    it."""
    from graph.user_memory import MemoryCommand, carry_out

    memory = assistant.context.user_memory
    if memory is None:
        return "User memory is off (ASSISTANT_USER_MEMORY=false): nothing is kept."
    action = MemoryCommand("recall") if command == "/memory" else MemoryCommand("forget")
    return await carry_out(memory, "local", action)


def ask(
    question: Annotated[str, typer.Argument(help="The question, or '-' to read stdin.")],
    as_json: JsonOption = False,
    conversation: ConversationOption = "cli-ask",
    trace: TraceOption = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Make a new answer, not one from the cache.")
    ] = False,
) -> None:
    """Ask one question through the full graph and print the answer with its sources."""
    text = read_question(question)
    result = run_async(
        lambda: ask_once(
            text, conversation_id=conversation, stream=not as_json, trace=trace, fresh=no_cache
        )
    )
    if as_json:
        print_json(result.to_dict())


def chat(
    conversation: ConversationOption = "terminal",
    ingest_if_empty: Annotated[
        list[Path] | None,
        typer.Option("--ingest-if-empty", help="Ingest these paths when the index is empty."),
    ] = None,
    trace: TraceOption = False,
) -> None:
    """Chat in the terminal through the same graph the Slack bot uses (/help inside)."""
    run_async(lambda: chat_loop(conversation, ingest_if_empty or [], trace))


def register(app: typer.Typer) -> None:
    """Add ``ask`` and ``chat`` to the ``assistant`` command."""
    app.command("ask")(ask)
    app.command("chat")(chat)
