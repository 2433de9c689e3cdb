"""MCP tools from a real local MCP server (stdio and streamable HTTP), started by the test."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.settings import Settings
from graph.tools.mcp_tools import load_mcp_tools
from graph.tools.registry import ToolDeps, ToolRegistry, is_allowed
from graph.tools.specs import McpServerSpec
from graph.untrusted import injection_reason
from guards.redaction import REDACTOR
from observe.tracing import Tracer

SERVER = Path(__file__).parents[2] / "data" / "mcp_server.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(SERVER), "--http", str(port)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the MCP test server did not start")
    yield f"http://127.0.0.1:{port}/mcp"
    process.terminate()
    process.wait(10)


@pytest.fixture
def deps(tmp_path: Path) -> ToolDeps:
    settings = Settings(data_dir=tmp_path / "data")
    tracer = Tracer(settings.traces_path, redactor=REDACTOR)
    return ToolDeps(
        settings=settings, tracer=tracer, trace_id="d" * 32, user_id="U1", scan=injection_reason
    )


def stdio(**extra: object) -> McpServerSpec:
    return McpServerSpec(
        transport="stdio",
        command=sys.executable,
        args=[str(SERVER)],
        trust_annotations=True,  # our own server: its readOnlyHint is true
        **extra,  # type: ignore[arg-type]
    )


async def test_stdio_tools_are_discovered_namespaced_and_called(deps: ToolDeps) -> None:
    loaded = await load_mcp_tools({"ops": stdio()})
    tools, problems = loaded.tools, loaded.problems
    assert problems == []
    by_name = {t.name: t for t in tools}
    assert {"ops_lookup_runbook", "ops_restart_service", "ops_fetch_page"} <= set(by_name)
    assert not by_name["ops_lookup_runbook"].side_effect  # annotated readOnlyHint
    assert by_name["ops_restart_service"].side_effect  # needs approval
    assert by_name["ops_lookup_runbook"].source == "mcp:ops"
    registry = ToolRegistry(tools)
    result = await registry.run("ops_lookup_runbook", {"service": "billing"}, deps)
    assert result.ok and result.output.startswith("Runbook for billing")
    failed = await registry.run("ops_lookup_runbook", {"service": "missing"}, deps)
    assert not failed.ok and "no runbook for missing" in failed.output
    bad = await registry.run("ops_lookup_runbook", {}, deps)
    assert not bad.ok and bad.error_type == "ValidationError"
    (held,) = loaded.held
    process_calls = [await registry.run("ops_restart_service", {"name": "a"}, deps) for _ in "ab"]
    assert process_calls[1].output.startswith("restarted a (2 restart(s)"), "one server process"
    await loaded.aclose()
    restarted = await registry.run("ops_lookup_runbook", {"service": "auth"}, deps)
    assert restarted.ok, "a call after the server went away starts it again"
    assert (await registry.run("ops_restart_service", {"name": "b"}, deps)).output.startswith(
        "restarted b (1 restart(s)"
    )
    await held.aclose()


async def test_streamable_http_tools_and_allow_lists(http_server: str, deps: ToolDeps) -> None:
    spec = McpServerSpec(
        transport="streamable_http", url=http_server, tools=["lookup_runbook", "restart_service"]
    )
    loaded = await load_mcp_tools({"wiki": spec})
    tools, problems = loaded.tools, loaded.problems
    assert problems == [] and sorted(t.name for t in tools) == [
        "wiki_lookup_runbook",
        "wiki_restart_service",
    ]
    registry = ToolRegistry(tools)
    assert [t.name for t in registry.allowed(["wiki_lookup_*"])] == ["wiki_lookup_runbook"]
    assert not is_allowed("wiki_restart_service", ["summarize_conversation", "wiki_lookup_*"])
    result = await registry.run("wiki_lookup_runbook", {"service": "auth"}, deps)
    assert result.ok and "Runbook for auth" in result.output


async def test_injection_in_mcp_output_is_marked_as_data(deps: ToolDeps) -> None:
    loaded = await load_mcp_tools({"ops": stdio()})
    result = await ToolRegistry(loaded.tools).run("ops_fetch_page", {"url": "https://wiki/x"}, deps)
    await loaded.aclose()
    assert result.ok and result.flagged
    assert result.output.startswith("\u26a0\ufe0f Warning")
    deps.tracer.close()
    span = next(
        line
        for line in deps.settings.traces_path.read_text().splitlines()
        if "execute_tool ops_fetch_page" in line
    )
    assert '"app.guard.indirect_flagged": true' in span


async def test_an_unreachable_server_is_reported_not_fatal() -> None:
    dead = McpServerSpec(transport="streamable_http", url=f"http://127.0.0.1:{free_port()}/mcp")
    loaded = await load_mcp_tools({"ops": stdio(), "gone": dead})
    assert {t.source for t in loaded.tools} == {"mcp:ops"}
    assert len(loaded.problems) == 1 and "'gone'" in loaded.problems[0]
    await loaded.aclose()


async def test_a_servers_own_read_only_claim_is_not_trusted_by_default(deps: ToolDeps) -> None:
    spec = McpServerSpec(
        transport="stdio", command=sys.executable, args=[str(SERVER)], read_only=["fetch_page"]
    )
    loaded = await load_mcp_tools({"ops": spec})
    needs_approval = {t.name for t in loaded.tools if t.side_effect}
    await loaded.aclose()
    assert "ops_lookup_runbook" in needs_approval, "annotated readOnlyHint, but not trusted"
    assert "ops_fetch_page" not in needs_approval, "listed read_only in the configuration"


async def test_a_stdio_server_gets_none_of_the_assistants_secrets(
    deps: ToolDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_SLACK_BOT_TOKEN", "xoxb-not-for-servers")
    monkeypatch.setenv("WIKI_TOKEN", "for-the-wiki")
    loaded = await load_mcp_tools({"ops": stdio(inherit_env=["WIKI_TOKEN"])})
    registry = ToolRegistry(loaded.tools)
    slack = await registry.run("ops_environment", {"name": "ASSISTANT_SLACK_BOT_TOKEN"}, deps)
    wiki = await registry.run("ops_environment", {"name": "WIKI_TOKEN"}, deps)
    path = await registry.run("ops_environment", {"name": "PATH"}, deps)
    await loaded.aclose()
    assert (slack.output, wiki.output, path.output) == ("unset", "set", "set")


async def test_a_crashed_stdio_server_is_started_again(deps: ToolDeps) -> None:
    loaded = await load_mcp_tools({"ops": stdio()})
    registry = ToolRegistry(loaded.tools)
    crash = await registry.run("ops_stop_server", {}, deps)
    assert not crash.ok
    after = await registry.run("ops_lookup_runbook", {"service": "auth"}, deps)
    await loaded.aclose()
    assert after.ok and "Runbook for auth" in after.output


def test_odd_argument_names_are_kept_as_aliases() -> None:
    from graph.tools.args_schema import args_model

    model = args_model(
        "odd",
        {
            "type": "object",
            "properties": {"_id": {"type": "string"}, "model_config": {"type": "integer"}},
            "required": ["_id"],
        },
    )
    parsed = model.model_validate({"_id": "a1", "model_config": 3})
    assert parsed.model_dump(by_alias=True) == {"_id": "a1", "model_config": 3}
    assert set(model.model_json_schema()["properties"]) == {"_id", "model_config"}
