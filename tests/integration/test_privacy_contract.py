"""Contracts an outside check relies on, run as a user would run them (the installed command):

- ``assistant ask`` with personal data in it leaves no raw value in any file under the data dir
  (trace log, Redis AOF, Chroma, logs), with content capture off and on;
- ``assistant dashboard`` serves on loopback without a token and refuses requests without one
  on any other interface.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from graph.services.embedded_redis import free_port
from integration.cli_runner import ASSISTANT, run_assistant

DOCS = Path(__file__).parents[1] / "data" / "e2e"
PERSONAL = {
    "email": "jane.roe@example.org",
    "phone": "+1 415 555 0134",
    "card": "4111 1111 1111 1111",
    "iban": "DE89 3704 0044 0532 0130 00",
    "ip": "203.0.113.77",
}


def run(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_assistant(list(args), data_dir, env=env, timeout=600, text=True, cwd=data_dir.parent)


def forms(value: str) -> set[str]:
    """The value as written, and without its spaces (a store may normalise it)."""
    return {value, value.replace(" ", "")}


def test_an_ask_with_personal_data_leaves_no_raw_value_under_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert run("ingest", str(DOCS), data_dir=data_dir).returncode == 0
    question = (
        f"My email is {PERSONAL['email']}, phone {PERSONAL['phone']}, card {PERSONAL['card']}, "
        f"IBAN {PERSONAL['iban']}, laptop {PERSONAL['ip']}. How do I roll back a bad release?"
    )
    for capture in ("false", "true"):
        result = run("ask", question, data_dir=data_dir, ASSISTANT_TRACE_CONTENT=capture)
        assert result.returncode == 0, result.stderr
        assert "roll" in result.stdout.lower()
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "traces.jsonl" for p in files)
    assert any("appendonly" in str(p) for p in files), "Redis persisted the turn"
    leaks = {
        f"{name} in {path.relative_to(data_dir)}"
        for path in files
        for name, value in PERSONAL.items()
        for form in forms(value)
        if form.encode() in path.read_bytes()
    }
    assert not leaks, leaks
    traces = (data_dir / "logs" / "traces.jsonl").read_text()
    assert "<EMAIL>" in traces, "the question is kept, redacted, for the knowledge-gaps table"


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def start_dashboard(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    traces = tmp_path / "traces.jsonl"
    traces.touch()
    server = subprocess.Popen(
        [ASSISTANT, "dashboard", "--port", str(port), "--traces", str(traces), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "ASSISTANT_DASHBOARD_TOKEN": ""},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            get(f"http://127.0.0.1:{port}/api/facets")
            return server, port
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError(server.communicate()[0])


def test_the_dashboard_is_open_on_loopback(tmp_path: Path) -> None:
    server, port = start_dashboard(tmp_path)
    try:
        status, body = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and "ops dashboard" in body
        assert get(f"http://127.0.0.1:{port}/api/summary")[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("given", [None, "my-own-token"], ids=["generated", "given"])
def test_off_loopback_every_request_needs_the_token(tmp_path: Path, given: str | None) -> None:
    server, port = start_dashboard(
        tmp_path, "--host", "0.0.0.0", *(["--token", given] if given else [])
    )
    try:
        assert get(f"http://127.0.0.1:{port}/")[0] == 401
        assert get(f"http://127.0.0.1:{port}/api/summary")[0] == 401
    finally:
        server.terminate()
        printed = server.communicate(timeout=30)[0]
    token = given or re.search(r"\?token=([\w-]+)", printed).group(1)  # type: ignore[union-attr]
    assert f"?token={token}" in printed
    server, port = start_dashboard(tmp_path, "--host", "0.0.0.0", "--token", token)
    try:
        # As a browser does: ?token= once sets the cookie and redirects to the clean address.
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(f"http://127.0.0.1:{port}/?token={token}", timeout=5) as page:
            assert page.status == 200 and "ops dashboard" in page.read().decode()
            assert "token" not in page.url
        with browser.open(f"http://127.0.0.1:{port}/api/facets", timeout=5) as api:
            assert api.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_loopback_dashboard_refuses_other_host_names_and_honours_a_given_token(
    tmp_path: Path,
) -> None:
    """DNS rebinding: a page whose own name resolves to 127.0.0.1 must not read the data."""
    server, port = start_dashboard(tmp_path)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/summary", headers={"Host": "attacker.example"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 421
        assert get(f"http://localhost:{port}/api/facets")[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    server, port = start_dashboard(tmp_path, "--token", "loop-token")
    try:
        assert get(f"http://127.0.0.1:{port}/api/summary")[0] == 401
        assert get(f"http://127.0.0.1:{port}/api/summary?token=loop-token")[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
