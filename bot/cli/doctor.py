"""``assistant doctor``: check each part for real and say how to fix what fails.

Each check returns a ``Check(name, ok, detail, fix, required)``; a failed required check makes the
command exit 1. Checks run in order and never stop early, so one run lists every problem.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from graph.settings import Settings, load_settings
from observe.errors import AssistantError


@dataclass
class Check:
    """The outcome of one check."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fix_for(exc: BaseException, default: str) -> str:
    return exc.hint or default if isinstance(exc, AssistantError) else default


async def check_redis(settings: Settings) -> Check:
    """Redis answers, is version 8+, and has the Search and JSON modules."""
    import redis

    from graph.services.embedded_redis import REQUIRED_MODULES, EmbeddedRedis

    embedded = (
        None if settings.redis_url else EmbeddedRedis(settings.redis_dir, settings.redis_port)
    )
    try:
        if embedded is not None:
            await asyncio.to_thread(embedded.start)
        url = settings.redis_url or embedded.url  # type: ignore[union-attr]
        client = redis.Redis.from_url(url, socket_timeout=5, decode_responses=True)
        version = str(client.info("server")["redis_version"])
        modules = {str(m["name"]).lower() for m in client.module_list()}
        client.close()
    except Exception as exc:
        return Check("redis", False, str(exc), _fix_for(exc, "set ASSISTANT_REDIS_URL or unset it"))
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    missing = {m.lower() for m in REQUIRED_MODULES} - modules
    major = int(version.split(".")[0])
    if major < 8 or missing:
        return Check(
            "redis",
            False,
            f"Redis {version}, modules {sorted(modules)}",
            "use Redis 8 with the Search and JSON modules (or unset ASSISTANT_REDIS_URL)",
        )
    where = "embedded" if embedded is not None else settings.redis_url
    return Check("redis", True, f"Redis {version} ({where}) with {', '.join(sorted(modules))}")


async def check_chroma_and_embeddings(settings: Settings) -> list[Check]:
    """The embedder loads and embeds; the Chroma index opens and counts."""
    from graph.factories import open_index
    from knowledge.embeddings import get_embedder

    checks: list[Check] = []
    try:
        embedder = get_embedder(settings.embedding_model)
        vector = await embedder.aembed(["doctor check"])
        checks.append(
            Check("embeddings", True, f"{settings.embedding_model}, {len(vector[0])} dims")
        )
    except Exception as exc:
        checks.append(Check("embeddings", False, str(exc), _fix_for(exc, "run `make install`")))
        return checks
    try:
        index = await asyncio.to_thread(open_index, settings)
        count = await asyncio.to_thread(index.count)
        where = settings.chroma_url or str(settings.chroma_path)
        detail = f"{count} chunks in {settings.collection!r} at {where}"
        checks.append(Check("chroma", True, detail))
        if count == 0:
            checks.append(
                Check(
                    "knowledge",
                    False,
                    "the knowledge base is empty",
                    "run `assistant ingest PATH...`",
                    required=False,
                )
            )
    except Exception as exc:
        checks.append(
            Check(
                "chroma",
                False,
                str(exc),
                _fix_for(exc, "check ASSISTANT_CHROMA_URL / ASSISTANT_DATA_DIR"),
            )
        )
    return checks


async def check_model(settings: Settings) -> Check:
    """The chat model loads and generates a few tokens."""
    from graph.llm import build_chat_model

    try:
        model = build_chat_model(settings)
        started = time.perf_counter()
        reply = await asyncio.wait_for(model.ainvoke("Say hello in two words."), timeout=60)
        elapsed = time.perf_counter() - started
        text = str(reply.content).strip().replace("\n", " ")[:40]
    except Exception as exc:
        return Check(
            "model",
            False,
            f"{type(exc).__name__}: {exc}",
            _fix_for(exc, "set ASSISTANT_CHAT_MODEL=local or fix the provider's key"),
        )
    return Check("model", True, f"{model_name(settings)}: {text!r} in {elapsed:.1f}s")


def model_name(settings: Settings) -> str:
    """The chat model in use and how questions are answered, for people."""
    from graph.llm import local_model_path

    name = settings.chat_model
    if settings.local_model:
        name = f"{name} ({local_model_path(settings.chat_model).name}, llama.cpp)"
    how = "quotes the documents" if settings.quotes_answers else "writes answers"
    return f"{name}; answering: {how} (ASSISTANT_ANSWER_MODE={settings.answer_mode})"


async def check_slack() -> Check:
    """Slack is optional for the terminal. When configured: which transport, whether the
    settings are complete, and whether the bot token works (``auth.test``)."""
    from slack_sdk.errors import SlackApiError

    from bot.config import load_slack_settings
    from bot.responder import make_client

    try:
        slack = load_slack_settings()
    except AssistantError as exc:
        return Check("slack", False, exc.message, exc.hint or "fix the slack settings")
    configured = slack.bot_token or slack.signing_secret or slack.app_token or slack.client_id
    if not configured:
        return Check(
            "slack",
            False,
            "no Slack settings (terminal only)",
            "set ASSISTANT_SLACK_BOT_TOKEN and ASSISTANT_SLACK_SIGNING_SECRET to serve Slack "
            "(docs/slack.md)",
            required=False,
        )
    missing = slack.missing_for_serving()
    if missing:
        return Check("slack", False, f"missing {', '.join(missing)}", "see docs/slack.md")
    mode = "Socket Mode" if slack.app_token else "HTTP"
    if slack.bot_token is None:
        return Check("slack", True, f"{mode}, multi-workspace (OAuth install flow)")
    client = make_client(slack, slack.bot_token.get_secret_value())
    try:
        auth = await asyncio.wait_for(client.auth_test(), timeout=15)
    except SlackApiError as exc:
        error = exc.response.get("error")
        return Check("slack", False, f"auth.test failed: {error}", "check the bot token")
    except (OSError, TimeoutError) as exc:
        return Check(
            "slack",
            False,
            f"cannot reach {slack.api_url}: {type(exc).__name__}",
            "check the network or ASSISTANT_SLACK_API_URL",
        )
    return Check("slack", True, f"{mode}; workspace {auth.get('team')} as @{auth.get('user')}")


def check_data_dir(settings: Settings) -> Check:
    """The data dir exists (or can be created) and is writable."""
    try:
        settings.logs_dir.mkdir(parents=True, exist_ok=True)
        probe = settings.data_dir / ".doctor"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check(
            "data dir",
            False,
            f"{settings.data_dir}: {exc.strerror}",
            "set ASSISTANT_DATA_DIR to a writable directory",
        )
    return Check("data dir", True, str(settings.data_dir.resolve()))


async def check_tools(settings: Settings) -> Check:
    """The configured tools load: HTTP tool secrets are set, MCP servers answer."""
    import os

    from graph.tools.setup import build_registry
    from observe.errors import AssistantError

    try:
        registry, mcp = await build_registry(settings)
    except AssistantError as exc:
        return Check("tools", False, exc.message, exc.hint or "fix tools in assistant.yaml")
    await mcp.aclose()
    missing = [
        f"{name}: {spec.auth.env}"
        for name, spec in settings.tools.http.items()
        if spec.auth is not None and not os.environ.get(spec.auth.env)
    ]
    problems = [*mcp.problems, *(f"unset credential {m}" for m in missing)]
    approval = sum(registry.get(n).side_effect for n in registry.names())
    detail = (
        f"{len(registry.names())} tools ({approval} need approval); planning: "
        f"{'model' if settings.plans_tools else 'routing'}"
    )
    if problems:
        return Check(
            "tools",
            False,
            f"{detail}; " + "; ".join(problems),
            "see docs/configuration.md#tools",
            required=False,
        )
    return Check("tools", True, detail, required=False)


async def run_checks() -> list[Check]:
    """Every check, in order."""
    settings = load_settings()
    checks = [check_data_dir(settings)]
    steps: list[Callable[[], Awaitable[Check | list[Check]]]] = [
        lambda: check_redis(settings),
        lambda: check_chroma_and_embeddings(settings),
        lambda: check_model(settings),
        lambda: check_tools(settings),
    ]
    for step in steps:
        result = await step()
        checks.extend(result if isinstance(result, list) else [result])
    checks.append(await check_slack())
    return checks


def render(checks: list[Check], console: Console) -> None:
    """A table of checks with fixes for failures."""
    table = Table(title="assistant doctor")
    for column in ("", "part", "status", "fix"):
        table.add_column(column)
    for check in checks:
        mark = "[green]✓[/]" if check.ok else ("[red]✗[/]" if check.required else "[yellow]![/]")
        table.add_row(mark, check.name, check.detail, check.fix)
    console.print(table)
    failed = [c.name for c in checks if c.required and not c.ok]
    console.print(
        "[red]failed: " + ", ".join(failed) + "[/]"
        if failed
        else "[green]all required checks passed[/]"
    )
