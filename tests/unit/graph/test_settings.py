"""Settings: defaults run embedded, env beats YAML, bad values give one actionable error."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.settings import load_settings
from observe.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("ASSISTANT_CONFIG", "ASSISTANT_TOP_K", "ASSISTANT_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_embedded_setup() -> None:
    settings = load_settings()
    assert settings.redis_url is None and settings.chroma_url is None
    assert settings.chat_model == "local" and settings.embedding_model == "minilm"
    assert settings.traces_path == Path(".assistant/logs/traces.jsonl")
    assert settings.trace_content is False


def test_yaml_file_and_env_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "custom.yaml"
    config.write_text(
        "top_k: 7\nescalation:\n  contact: '#it-help'\n"
        "intent_examples:\n  escalate: ['page the SRE']\n"
    )
    monkeypatch.setenv("ASSISTANT_CONFIG", str(config))
    settings = load_settings()
    assert settings.top_k == 7 and settings.escalation.contact == "#it-help"
    assert settings.intent_examples == {"escalate": ["page the SRE"]}
    monkeypatch.setenv("ASSISTANT_TOP_K", "3")
    assert load_settings().top_k == 3


@pytest.mark.parametrize(
    ("content", "env", "fragment"),
    [
        ("top_k: 7\n", {"ASSISTANT_TOP_K": "lots"}, "top_k"),
        ("intent_examples:\n  weather: ['is it sunny']\n", {}, "weather"),
        ("escalation: [unclosed\n", {}, "not valid YAML"),
        (None, {"ASSISTANT_CONFIG": "/nonexistent/assistant.yaml"}, "does not exist"),
    ],
    ids=["bad-env-value", "unknown-intent", "broken-yaml", "missing-config"],
)
def test_bad_settings_raise_one_config_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: str | None,
    env: dict[str, str],
    fragment: str,
) -> None:
    if content is not None:
        (tmp_path / "assistant.yaml").write_text(content)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=fragment):
        load_settings()


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [("anthropic:claude-sonnet-4-5", "langchain-anthropic"), ("nonsense-model", "nonsense-model")],
    ids=["provider-package-missing", "unknown-provider"],
)
def test_unusable_chat_model_is_one_config_error(spec: str, fragment: str) -> None:
    from graph.llm import build_chat_model

    with pytest.raises(ConfigError, match=fragment) as caught:
        build_chat_model(load_settings(chat_model=spec))
    assert "\n" not in caught.value.message
