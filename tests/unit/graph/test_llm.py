"""The local llama.cpp chat model adapter, with the real bundled GGUF model."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessageChunk

from graph.llm import LocalLlamaChat, fit_to_context, local_model_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_context_model() -> LocalLlamaChat:
    return LocalLlamaChat(model_path=str(local_model_path()), n_ctx=512, max_tokens=24)


def test_fit_to_context_shortens_the_longest_message(small_context_model: LocalLlamaChat) -> None:
    llama = small_context_model.loaded.llama
    long_text = "Привет, как настроить VPN на ноутбуке? " * 80  # far more tokens than 512
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": long_text}]
    fitted = fit_to_context(llama, messages, 400)
    assert fitted[0] == messages[0]
    tokens = sum(len(llama.tokenize(m["content"].encode(), add_bos=False)) for m in fitted)
    assert tokens <= 400
    assert fitted[1]["content"].startswith("Привет") and fitted[1]["content"].endswith("…")
    assert fit_to_context(llama, messages[:1], 400) == messages[:1]


async def test_a_prompt_over_the_context_still_streams_an_answer(
    small_context_model: LocalLlamaChat,
) -> None:
    full: AIMessageChunk | None = None
    chunks = 0
    async for chunk in small_context_model.astream("Что такое VPN? " * 300):
        chunks += 1
        full = chunk if full is None else full + chunk
    assert full is not None and str(full.content).strip()
    assert chunks > 2
    assert full.usage_metadata is not None
    assert 0 < full.usage_metadata["output_tokens"] <= 24
    assert full.usage_metadata["input_tokens"] <= 512


async def test_abandoning_a_stream_releases_the_model(small_context_model: LocalLlamaChat) -> None:
    stream = small_context_model.astream("Count from one to fifty.")
    async for _ in stream:
        break
    await stream.aclose()
    reply = await small_context_model.ainvoke("Say hi.")
    assert str(reply.content).strip()


def test_any_gguf_file_on_disk_can_be_the_local_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from graph.llm import build_chat_model
    from graph.settings import Settings
    from observe.errors import ConfigError

    bundled = local_model_path()
    model = build_chat_model(Settings(data_dir=tmp_path, chat_model=f"local:{bundled}"))
    assert isinstance(model, LocalLlamaChat) and model.model_path == str(bundled)
    assert Settings(data_dir=tmp_path, chat_model=f"local:{bundled}").quotes_answers
    with pytest.raises(ConfigError, match="not a .gguf file") as caught:
        local_model_path(f"local:{tmp_path / 'missing.gguf'}")
    assert "ASSISTANT_CHAT_MODEL" in (caught.value.hint or "")


def test_two_first_loads_at_once_leave_stdout_and_stderr_alone() -> None:
    """llama.cpp swaps fds 1 and 2 while it loads; two loads racing once left them on
    /dev/null for the rest of the process (``eval calibrate --json`` printed nothing)."""
    import os
    import threading

    from graph.llm import _load_llama, _load_llama_once, local_model_path

    before = (os.fstat(1).st_ino, os.fstat(2).st_ino)
    _load_llama_once.cache_clear()
    path = str(local_model_path())
    threads = [threading.Thread(target=_load_llama, args=(path, 512, 1)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (os.fstat(1).st_ino, os.fstat(2).st_ino) == before
    _load_llama_once.cache_clear()
